import { describe, expect, it } from 'vitest';
import type { Action } from '../../functions/core/types.ts';
import fc from 'fast-check';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import { renderTwiml, type RenderOptions } from '../../functions/adapters/twilio/twiml.ts';
import { publicUrl } from '../../functions/adapters/twilio/signature.ts';

const speech = { voice: 'Polly.Amy', language: 'en-GB' };
const options: RenderOptions = { speech };
const HEAD = '<?xml version="1.0" encoding="UTF-8"?><Response>';
const SAY = '<Say voice="Polly.Amy" language="en-GB">';

const gather = (over: Partial<Extract<Action, { type: 'gather' }>> = {}): Action => ({
  type: 'gather',
  prompt: 'Please enter your account code, then press hash.',
  step: 0,
  timeoutSeconds: 8,
  ...over,
});
const hangup: Action = { type: 'hangup' };

describe('renderTwiml', () => {
  describe('gather', () => {
    it('asks for DTMF ending in #, always posts back to /voice/code with the step, and speaks the prompt inside', () => {
      expect(renderTwiml([gather({ step: 0, timeoutSeconds: 8 })], options)).toBe(
        HEAD +
          '<Gather input="dtmf" finishOnKey="#" timeout="8" actionOnEmptyResult="true" action="/voice/code?step=0" method="POST">' +
          `${SAY}Please enter your account code, then press hash.</Say>` +
          '</Gather></Response>',
      );
    });

    it('sets numDigits only when the code length is fixed', () => {
      expect(renderTwiml([gather({ step: 2, timeoutSeconds: 5, numDigits: 4 })], options)).toBe(
        HEAD +
          '<Gather input="dtmf" finishOnKey="#" timeout="5" actionOnEmptyResult="true" action="/voice/code?step=2" method="POST" numDigits="4">' +
          `${SAY}Please enter your account code, then press hash.</Say>` +
          '</Gather></Response>',
      );
    });

    it('follows a retry message with the gather and adds nothing after it', () => {
      const xml = renderTwiml([{ type: 'say', text: 'That code is not valid.' }, gather({ step: 1 })], options);
      expect(xml).toBe(
        HEAD +
          `${SAY}That code is not valid.</Say>` +
          '<Gather input="dtmf" finishOnKey="#" timeout="8" actionOnEmptyResult="true" action="/voice/code?step=1" method="POST">' +
          `${SAY}Please enter your account code, then press hash.</Say>` +
          '</Gather></Response>',
      );
    });
  });

  describe('dial', () => {
    const dialHead = '<Dial action="/voice/dial-complete" method="POST" answerOnBridge="true"';

    it('dials a number with an action and the caller ID', () => {
      expect(renderTwiml([{ type: 'dial', target: { kind: 'number', number: '+442079460000' }, callerId: '+442079460999' }], options)).toBe(
        `${HEAD}${dialHead} callerId="+442079460999"><Number>+442079460000</Number></Dial></Response>`,
      );
    });

    it('leaves callerId out when there is none, so Twilio presents the caller', () => {
      expect(renderTwiml([{ type: 'dial', target: { kind: 'number', number: '911' } }], options)).toBe(`${HEAD}${dialHead}><Number>911</Number></Dial></Response>`);
    });

    it.each([
      ['a client identity', { kind: 'client', identity: 'bob' } as const, '<Client>bob</Client>'],
      ['a client: address without its prefix', { kind: 'client', identity: 'client:bob' } as const, '<Client>bob</Client>'],
      ['a SIP URI', { kind: 'sip', uri: 'sip:+442079460000@pbx.example.com' } as const, '<Sip>sip:+442079460000@pbx.example.com</Sip>'],
      ['a SIP URI given without its scheme', { kind: 'sip', uri: 'alice@pbx.example.com' } as const, '<Sip>sip:alice@pbx.example.com</Sip>'],
      ['a SIPS URI', { kind: 'sip', uri: 'sips:alice@pbx.example.com' } as const, '<Sip>sips:alice@pbx.example.com</Sip>'],
    ])('dials %s', (_, target, noun) => {
      expect(renderTwiml([{ type: 'dial', target, callerId: '+18005550100' }], options)).toBe(`${HEAD}${dialHead} callerId="+18005550100">${noun}</Dial></Response>`);
    });
  });

  describe('say and hangup', () => {
    it('says a message and hangs up', () => {
      expect(renderTwiml([{ type: 'say', text: 'This call is not permitted.' }, hangup], options)).toBe(`${HEAD}${SAY}This call is not permitted.</Say><Hangup/></Response>`);
    });

    it('hangs up on its own', () => {
      expect(renderTwiml([hangup], options)).toBe(`${HEAD}<Hangup/></Response>`);
    });

    it('escapes markup in spoken text and in attributes', () => {
      const xml = renderTwiml([{ type: 'say', text: `Tom & Jerry's <b>"code"</b>: <&>"'` }, gather({ prompt: `<&>"'` })], { speech: { voice: 'Polly."Amy"', language: 'en-GB' } });
      const say = '<Say voice="Polly.&quot;Amy&quot;" language="en-GB">';
      expect(xml).toBe(
        HEAD +
          `${say}Tom &amp; Jerry's &lt;b&gt;"code"&lt;/b&gt;: &lt;&amp;&gt;"'</Say>` +
          '<Gather input="dtmf" finishOnKey="#" timeout="8" actionOnEmptyResult="true" action="/voice/code?step=0" method="POST">' +
          `${say}&lt;&amp;&gt;"'</Say></Gather></Response>`,
      );
    });

    it('drops characters XML cannot carry from spoken text instead of failing the call', () => {
      expect(renderTwiml([{ type: 'say', text: 'bell\u0007 and \uD800lone' }, hangup], options)).toBe(`${HEAD}${SAY}bell and lone</Say><Hangup/></Response>`);
    });

    it('keeps non-ASCII text as UTF-8', () => {
      expect(renderTwiml([{ type: 'say', text: 'Bitte geben Sie Ihren Code ein – ☎ 😀' }, hangup], options)).toBe(
        `${HEAD}${SAY}Bitte geben Sie Ihren Code ein – ☎ 😀</Say><Hangup/></Response>`,
      );
    });
  });

  describe('baseUrl', () => {
    const gatherAttrs = (action: string) => `<Gather input="dtmf" finishOnKey="#" timeout="8" actionOnEmptyResult="true" action="${action}" method="POST">`;

    it.each([
      ['a bare host', 'http://localhost:3000', 'http://localhost:3000/voice/code?step=2'],
      ['a bare host with a trailing slash', 'http://localhost:3000/', 'http://localhost:3000/voice/code?step=2'],
      ['a stage prefix', 'https://x.example/prod', 'https://x.example/prod/voice/code?step=2'],
      ['a stage prefix with a trailing slash', 'https://x.example/prod/', 'https://x.example/prod/voice/code?step=2'],
    ])('makes the gather action absolute under %s', (_, baseUrl, action) => {
      expect(renderTwiml([gather({ step: 2 })], { speech, baseUrl })).toContain(gatherAttrs(action));
    });

    it('makes the dial action absolute too', () => {
      expect(renderTwiml([{ type: 'dial', target: { kind: 'number', number: '+15005550006' } }], { speech, baseUrl: 'https://x.example/prod/' })).toBe(
        `${HEAD}<Dial action="https://x.example/prod/voice/dial-complete" method="POST" answerOnBridge="true"><Number>+15005550006</Number></Dial></Response>`,
      );
    });
  });

  describe('a response that would leave the caller in silence', () => {
    it.each<[string, Action[]]>([
      ['nothing', []],
      ['only a say', [{ type: 'say', text: 'Goodbye.' }]],
      ['a say after the hangup', [hangup, { type: 'say', text: 'Goodbye.' }]],
      ['a say after the gather', [gather(), { type: 'say', text: 'We did not hear anything.' }]],
      ['a hangup after the dial', [{ type: 'dial', target: { kind: 'number', number: '+1' } }, hangup]],
      ['two gathers', [gather({ step: 0 }), gather({ step: 1 })]],
    ])('is refused as a programming error: %s', (_, actions) => {
      expect(() => renderTwiml(actions, options)).toThrow(/must end in exactly one gather, dial or hangup/);
    });
  });
});

/** The renderer this module replaced: twilio's own VoiceResponse (xmlbuilder), as the reference for escaping and layout. */
function referenceTwiml(actions: readonly Action[], o: RenderOptions): string {
  const say = { voice: o.speech.voice as VoiceResponse.SayAttributes['voice'], language: o.speech.language as VoiceResponse.SayAttributes['language'] };
  const url = (path: string, query?: string) => (o.baseUrl === undefined ? (query ? `${path}?${query}` : path) : publicUrl(o.baseUrl, path, query));
  const response = new VoiceResponse();
  for (const a of actions) {
    if (a.type === 'say') response.say(say, a.text);
    if (a.type === 'hangup') response.hangup();
    if (a.type === 'gather') {
      const g = {
        input: ['dtmf'],
        finishOnKey: '#',
        timeout: a.timeoutSeconds,
        actionOnEmptyResult: true,
        action: url('/voice/code', `step=${a.step}`),
        method: 'POST',
        numDigits: a.numDigits,
      };
      response.gather(g as VoiceResponse.GatherAttributes).say(say, a.prompt);
    }
    if (a.type === 'dial') {
      const dial = response.dial({ action: url('/voice/dial-complete'), method: 'POST', answerOnBridge: true, callerId: a.callerId });
      if (a.target.kind === 'number') dial.number(a.target.number);
      if (a.target.kind === 'client') dial.client(a.target.identity.replace(/^client:/i, ''));
      if (a.target.kind === 'sip') dial.sip(/^sips?:/i.test(a.target.uri) ? a.target.uri : `sip:${a.target.uri}`);
    }
  }
  return response.toString();
}

describe('renderTwiml against twilio’s VoiceResponse', () => {
  // Text XML can carry (the library throws on the rest; renderTwiml drops it), with every character markup and escaping care about.
  const legal = (c: string) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/.test(c);
  const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter(legal);
  const text = fc.string({ unit: fc.oneof(fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', ']]>', ' ', 'é', '€', '😀'), anyChar), maxLength: 30 });
  const target = fc.oneof(
    text.map((number) => ({ kind: 'number' as const, number })),
    text.map((identity) => ({ kind: 'client' as const, identity })),
    text.map((uri) => ({ kind: 'sip' as const, uri })),
  );
  const turn = fc.oneof(
    fc.record({
      type: fc.constant('gather' as const),
      prompt: text,
      step: fc.nat(99),
      timeoutSeconds: fc.integer({ min: 1, max: 30 }),
      numDigits: fc.option(fc.integer({ min: 4, max: 12 }), { nil: undefined }),
    }),
    fc.record({ type: fc.constant('dial' as const), target, callerId: fc.option(text, { nil: undefined }) }),
    fc.constant({ type: 'hangup' as const }),
  );
  it('writes the same document for any actions', () => {
    fc.assert(
      fc.property(
        fc.array(
          text.map((t) => ({ type: 'say' as const, text: t })),
          { maxLength: 3 },
        ),
        turn,
        fc.record({ voice: text, language: text }),
        fc.option(fc.constantFrom('https://abc.execute-api.us-east-1.amazonaws.com/prod', 'http://localhost:3000/'), { nil: undefined }),
        (says, last, speech, baseUrl) => {
          const actions = [...says, last] as Action[];
          const o: RenderOptions = { speech, ...(baseUrl === undefined ? {} : { baseUrl }) };
          expect(renderTwiml(actions, o)).toBe(referenceTwiml(actions, o));
        },
      ),
      { numRuns: 500 },
    );
  });
});
