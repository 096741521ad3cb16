/**
 * Renders the core's actions as TwiML (docs/call-flow.md). A pure function: no state, no I/O.
 *
 * twilio's `VoiceResponse` builds the XML, so escaping follows the library. We import that one
 * module rather than the package root, which loads the whole REST client (~237 modules).
 */
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { Action, DialTarget, SpeechOptions } from '../../core/types.ts';
import { publicUrl } from './signature.ts';

export interface RenderOptions {
  /** Voice and language of every `<Say>`. */
  readonly speech: SpeechOptions;
  /**
   * Absolute public base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod` or
   * `http://localhost:3000`. When set, action URLs are absolute. Set it whenever the base has
   * a path prefix: Twilio resolves a relative `/voice/code` against the host alone, which
   * would drop an API Gateway stage such as `/prod`.
   */
  readonly baseUrl?: string;
}

const GATHER_PATH = '/voice/code';
const DIAL_COMPLETE_PATH = '/voice/dial-complete';

/** Characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/F). */
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The TwiML document for `actions`, starting `<?xml version="1.0" encoding="UTF-8"?><Response>`.
 *
 * - `say` → `<Say voice language>`; `gather` → `<Gather input="dtmf" finishOnKey="#" timeout
 *   actionOnEmptyResult="true" action="/voice/code?step=N" method="POST" [numDigits]>` with the
 *   prompt spoken inside it, so digits typed during the prompt count; `dial` → `<Dial
 *   action="/voice/dial-complete" method="POST" answerOnBridge="true" [callerId]>` with one
 *   `<Number>`, `<Client>` or `<Sip>`; `hangup` → `<Hangup/>`.
 * - Spoken text drops characters XML cannot represent (a stray control character in an admin's
 *   prompt should not break every call); everything else is escaped by the library.
 *
 * @throws Error when the actions do not end in exactly one `gather`, `dial` or `hangup`. docs/call-flow.md
 *   says no response may leave the caller in silence, and anything after one of those verbs is
 *   never reached (Gather with `actionOnEmptyResult` and Dial with `action` always leave the
 *   document), so either case is a bug in the caller, not a runtime condition.
 */
export function renderTwiml(actions: readonly Action[], options: RenderOptions): string {
  assertEndsTheTurn(actions);
  const say = {
    voice: options.speech.voice as VoiceResponse.SayAttributes['voice'],
    language: options.speech.language as VoiceResponse.SayAttributes['language'],
  };
  const url = (path: string, query?: string): string => (options.baseUrl === undefined ? (query ? `${path}?${query}` : path) : publicUrl(options.baseUrl, path, query));

  const response = new VoiceResponse();
  for (const action of actions) {
    switch (action.type) {
      case 'say':
        response.say(say, spoken(action.text));
        break;
      case 'gather':
        response
          .gather({
            input: ['dtmf'],
            finishOnKey: '#',
            timeout: action.timeoutSeconds,
            actionOnEmptyResult: true,
            action: url(GATHER_PATH, `step=${action.step}`),
            method: 'POST',
            // undefined attributes are left out by the library: numDigits only for a fixed length.
            numDigits: action.numDigits,
          })
          .say(say, spoken(action.prompt));
        break;
      case 'dial':
        addNoun(
          response.dial({
            action: url(DIAL_COMPLETE_PATH),
            method: 'POST',
            // A call dialled straight away is not answered until the far end is, so the
            // caller hears the real ringing, busy tone or early media.
            answerOnBridge: true,
            callerId: action.callerId,
          }),
          action.target,
        );
        break;
      case 'hangup':
        response.hangup();
        break;
    }
  }
  return response.toString();
}

function addNoun(dial: VoiceResponse.Dial, target: DialTarget): void {
  switch (target.kind) {
    case 'number':
      dial.number(target.number);
      break;
    case 'client':
      // `From` of a Voice SDK call is `client:alice`; the noun wants the bare identity.
      dial.client(target.identity.replace(/^client:/i, ''));
      break;
    case 'sip':
      // <Sip> requires the scheme; a bare `user@host` can only mean `sip:user@host`.
      dial.sip(/^sips?:/i.test(target.uri) ? target.uri : `sip:${target.uri}`);
      break;
  }
}

function assertEndsTheTurn(actions: readonly Action[]): void {
  const moves = actions.filter((a) => a.type !== 'say').length;
  const last = actions.at(-1);
  if (moves !== 1 || last === undefined || last.type === 'say') {
    const got = actions.map((a) => a.type).join(', ') || 'nothing';
    throw new Error(
      `renderTwiml: a response must end in exactly one gather, dial or hangup (got: ${got}); otherwise the caller is left in silence or parts of it are never reached`,
    );
  }
}

function spoken(text: string): string {
  return text.replace(XML_ILLEGAL, '');
}
