/**
 * Renders the core's actions as TwiML (docs/call-flow.md). A pure function: no state, no I/O.
 *
 * Four verbs and three nouns with fixed attributes need no XML library: the document is
 * written here, escaped as twilio's `VoiceResponse` (xmlbuilder) escapes it — the tests
 * render random actions both ways and compare. That library and its xmlbuilder were some 70 KB of
 * the voice bundle, loaded on every cold start.
 */
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
 *   prompt should not break every call); everything else is escaped.
 *
 * @throws Error when the actions do not end in exactly one `gather`, `dial` or `hangup`. docs/call-flow.md
 *   says no response may leave the caller in silence, and anything after one of those verbs is
 *   never reached (Gather with `actionOnEmptyResult` and Dial with `action` always leave the
 *   document), so either case is a bug in the caller, not a runtime condition.
 */
export function renderTwiml(actions: readonly Action[], options: RenderOptions): string {
  assertEndsTheTurn(actions);
  const sayAttributes = attributes({ voice: options.speech.voice, language: options.speech.language });
  const say = (text: string) => element('Say', sayAttributes, escapeText(text));
  const url = (path: string, query?: string): string => (options.baseUrl === undefined ? (query ? `${path}?${query}` : path) : publicUrl(options.baseUrl, path, query));

  let xml = '<?xml version="1.0" encoding="UTF-8"?><Response>';
  for (const action of actions) {
    switch (action.type) {
      case 'say':
        xml += say(action.text);
        break;
      case 'gather':
        xml += `<Gather${attributes({
          input: 'dtmf',
          finishOnKey: '#',
          timeout: action.timeoutSeconds,
          actionOnEmptyResult: true,
          action: url(GATHER_PATH, `step=${action.step}`),
          method: 'POST',
          // numDigits only for a fixed length.
          numDigits: action.numDigits,
        })}>${say(action.prompt)}</Gather>`;
        break;
      case 'dial':
        xml += `<Dial${attributes({
          action: url(DIAL_COMPLETE_PATH),
          method: 'POST',
          // A call dialled straight away is not answered until the far end is, so the
          // caller hears the real ringing, busy tone or early media.
          answerOnBridge: true,
          callerId: action.callerId,
        })}>${noun(action.target)}</Dial>`;
        break;
      case 'hangup':
        xml += '<Hangup/>';
        break;
    }
  }
  return `${xml}</Response>`;
}

function noun(target: DialTarget): string {
  switch (target.kind) {
    case 'number':
      return element('Number', '', escapeText(target.number));
    case 'client':
      // `From` of a Voice SDK call is `client:alice`; the noun wants the bare identity.
      return element('Client', '', escapeText(target.identity.replace(/^client:/i, '')));
    case 'sip':
      // <Sip> requires the scheme; a bare `user@host` can only mean `sip:user@host`.
      return element('Sip', '', escapeText(/^sips?:/i.test(target.uri) ? target.uri : `sip:${target.uri}`));
  }
}

/** An element, closed on itself when it has no content (as xmlbuilder writes it). */
function element(name: string, attrs: string, content: string): string {
  return content === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}

/** ` name="value"` for each attribute that is set, in the order given. */
function attributes(attrs: Readonly<Record<string, string | number | boolean | undefined>>): string {
  let out = '';
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) out += ` ${name}="${escapeAttribute(String(value))}"`;
  return out;
}

/** Text content: `&`, `<`, `>` and CR as xmlbuilder writes them; characters XML cannot carry dropped. */
function escapeText(text: string): string {
  return spoken(text).replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] as string);
}

/** An attribute value: `&`, `<`, `"`, tab, LF and CR as xmlbuilder writes them; characters XML cannot carry dropped. */
function escapeAttribute(value: string): string {
  return spoken(value).replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] as string);
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };

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
