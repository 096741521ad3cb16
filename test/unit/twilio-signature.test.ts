import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicUrl, signTwilioRequest, verifyTwilioSignature, type TwilioParams } from '../../functions/adapters/twilio/signature.ts';
import { clientIncoming, gatherDigits, parseForm, pstnIncoming, sipIncoming } from '../fixtures/twilio/forms.ts';

/**
 * The algorithm as Twilio documents it, written out independently of the library so that a
 * change in twilio-node cannot move both sides of an assertion at once: HMAC-SHA1 keyed by the
 * token over the URL followed by each name+value sorted by name (repeated names by value), base64.
 */
function referenceSignature(url: string, params: TwilioParams, token: string): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    for (const v of typeof value === 'string' ? [value] : [...new Set(value)].sort()) data += name + v;
  }
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

// Twilio's published example (twilio.com/docs/usage/security).
const DOCS = {
  token: '12345',
  url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
  params: {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+12349013030',
    Digits: '1234',
    From: '+12349013030',
    To: '+18005551212',
  },
  signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
} as const;

const BASE = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';

describe('signTwilioRequest', () => {
  it("reproduces the signature of Twilio's documentation example", () => {
    expect(signTwilioRequest(DOCS.url, DOCS.params, DOCS.token)).toBe(DOCS.signature);
    expect(referenceSignature(DOCS.url, DOCS.params, DOCS.token)).toBe(DOCS.signature);
  });

  it.each([
    ['a SIP domain call', sipIncoming, '/voice/incoming', ''],
    ['a Voice SDK call', clientIncoming, '/voice/incoming', ''],
    ['a PSTN call from a town with an apostrophe', pstnIncoming, '/voice/incoming', ''],
    ['a gather action', gatherDigits, '/voice/code', 'step=1'],
  ])('agrees with the reference algorithm for %s', (_, body, path, query) => {
    const url = publicUrl(BASE, path, query);
    const params = parseForm(body);
    expect(signTwilioRequest(url, params, 'tok')).toBe(referenceSignature(url, params, 'tok'));
  });

  it('sorts the values of a repeated form field, so their order on the wire does not matter', () => {
    const url = `${BASE}/voice/status`;
    const a = signTwilioRequest(url, { CallSid: 'CA1', Event: ['ringing', 'answered'] }, 'tok');
    const b = signTwilioRequest(url, { CallSid: 'CA1', Event: ['answered', 'ringing'] }, 'tok');
    expect(a).toBe(b);
    expect(a).toBe(referenceSignature(url, { CallSid: 'CA1', Event: ['answered', 'ringing'] }, 'tok'));
  });
});

describe('verifyTwilioSignature', () => {
  const { url, params, token, signature } = DOCS;

  it("accepts Twilio's documentation example", () => {
    expect(verifyTwilioSignature(url, params, signature, [token])).toBe(true);
  });

  it('rejects the right signature under the wrong token', () => {
    expect(verifyTwilioSignature(url, params, signature, ['54321'])).toBe(false);
  });

  it('rejects a request whose parameters were changed, added or removed', () => {
    expect(verifyTwilioSignature(url, { ...params, Digits: '1235' }, signature, [token])).toBe(false);
    expect(verifyTwilioSignature(url, { ...params, Extra: '' }, signature, [token])).toBe(false);
    const { Digits: _, ...withoutDigits } = params;
    expect(verifyTwilioSignature(url, withoutDigits, signature, [token])).toBe(false);
  });

  it('rejects a request sent to another URL, query string or path', () => {
    expect(verifyTwilioSignature('https://mycompany.com/myapp.php?foo=1&bar=3', params, signature, [token])).toBe(false);
    expect(verifyTwilioSignature('https://mycompany.com/other.php?foo=1&bar=2', params, signature, [token])).toBe(false);
    expect(verifyTwilioSignature('http://mycompany.com/myapp.php?foo=1&bar=2', params, signature, [token])).toBe(false);
  });

  it('accepts a request signed with either token while a rotation is in progress', () => {
    const form = parseForm(sipIncoming);
    const at = `${BASE}/voice/incoming`;
    const tokens = ['old-token', 'new-token'];
    expect(verifyTwilioSignature(at, form, signTwilioRequest(at, form, 'old-token'), tokens)).toBe(true);
    expect(verifyTwilioSignature(at, form, signTwilioRequest(at, form, 'new-token'), tokens)).toBe(true);
    expect(verifyTwilioSignature(at, form, signTwilioRequest(at, form, 'retired-token'), tokens)).toBe(false);
  });

  it('rejects a missing or empty signature header', () => {
    expect(verifyTwilioSignature(url, params, undefined, [token])).toBe(false);
    expect(verifyTwilioSignature(url, params, '', [token])).toBe(false);
  });

  it('rejects everything when the account has no tokens, or only a blank one', () => {
    expect(verifyTwilioSignature(url, params, signature, [])).toBe(false);
    const blankSigned = signTwilioRequest(url, params, '');
    expect(verifyTwilioSignature(url, params, blankSigned, [''])).toBe(false);
  });

  describe('an apostrophe in the query string (twilio-node issue 1183)', () => {
    // Twilio signs the URL exactly as written in the TwiML or console; WHATWG URL would
    // re-escape ' as %27, which is what broke validateRequest in twilio-node 5.0.4 onwards.
    const raw = publicUrl(BASE, '/voice/code', "step=1&name=O'Brien");
    const form = parseForm(gatherDigits);

    it('signs the URL as written, byte for byte', () => {
      expect(raw).toBe(`${BASE}/voice/code?step=1&name=O'Brien`);
      expect(new URL(raw).href).toBe(`${BASE}/voice/code?step=1&name=O%27Brien`); // the trap
      expect(signTwilioRequest(raw, form, 'tok')).toBe(referenceSignature(raw, form, 'tok'));
    });

    it('verifies a request received with the apostrophe as signed', () => {
      const signature = referenceSignature(raw, form, 'tok');
      expect(verifyTwilioSignature(raw, form, signature, ['tok'])).toBe(true);
    });

    it('still verifies when an HTTP client re-escaped it to %27 on the way', () => {
      // e.g. fetch() sends ' as %27, so the server receives a different raw query than was signed.
      const received = publicUrl(BASE, '/voice/code', 'step=1&name=O%27Brien');
      expect(verifyTwilioSignature(received, form, referenceSignature(raw, form, 'tok'), ['tok'])).toBe(true);
    });

    it('verifies a request signed and received with %27', () => {
      const escaped = publicUrl(BASE, '/voice/code', 'step=1&name=O%27Brien');
      expect(verifyTwilioSignature(escaped, form, referenceSignature(escaped, form, 'tok'), ['tok'])).toBe(true);
    });
  });

  it("accepts an apostrophe in a form value (CallerCity=Trezzo Sull'Adda)", () => {
    const form = parseForm(pstnIncoming);
    expect(form.FromCity).toBe("Trezzo Sull'Adda");
    const at = `${BASE}/voice/incoming`;
    expect(verifyTwilioSignature(at, form, referenceSignature(at, form, 'tok'), ['tok'])).toBe(true);
  });

  it('accepts a URL with the default port whether Twilio signed it with or without', () => {
    const without = 'https://tollgate.example/voice/incoming';
    const withPort = 'https://tollgate.example:443/voice/incoming';
    const form = parseForm(sipIncoming);
    expect(verifyTwilioSignature(withPort, form, referenceSignature(without, form, 'tok'), ['tok'])).toBe(true);
    expect(verifyTwilioSignature(without, form, referenceSignature(withPort, form, 'tok'), ['tok'])).toBe(true);
    expect(verifyTwilioSignature('http://localhost/voice/incoming', form, referenceSignature('http://localhost:80/voice/incoming', form, 'tok'), ['tok'])).toBe(true);
  });

  it('verifies a URL with non-ASCII characters signed as received', () => {
    const at = `${BASE}/voice/code?step=1&who=Zoë`;
    const form = { Digits: '42', Note: 'naïve — ünïcode ☎' };
    expect(verifyTwilioSignature(at, form, referenceSignature(at, form, 'tök'), ['tök'])).toBe(true);
  });

  it.each([
    ['not a URL', 'not a url'],
    ['an unterminated IPv6 host', 'http://[::1/voice'],
    ['an empty URL', ''],
    ['a bare scheme', 'https://'],
    ['a lone surrogate', `${BASE}/voice/\uD800`],
  ])('returns false, without throwing, for %s', (_, garbage) => {
    expect(() => verifyTwilioSignature(garbage, params, signature, [token])).not.toThrow();
    expect(verifyTwilioSignature(garbage, params, signature, [token])).toBe(false);
  });

  it('returns false, without throwing, for a garbage header', () => {
    for (const header of ['💥', 'x'.repeat(10_000), '0/KCTR6DLpKmkAf8muzZqo1nDgQ', `${signature}=`, '\u0000']) {
      expect(verifyTwilioSignature(url, params, header, [token])).toBe(false);
    }
  });
});

describe('publicUrl', () => {
  it.each([
    ['a bare host', 'http://localhost:3000', '/voice/incoming', undefined, 'http://localhost:3000/voice/incoming'],
    ['a base with a trailing slash', 'http://localhost:3000/', '/voice/incoming', undefined, 'http://localhost:3000/voice/incoming'],
    ['a base with a stage prefix', 'https://x.example/prod', '/voice/code', 'step=2', 'https://x.example/prod/voice/code?step=2'],
    ['a stage prefix with a trailing slash', 'https://x.example/prod/', '/voice/code', 'step=2', 'https://x.example/prod/voice/code?step=2'],
    ['a path without its leading slash', 'https://x.example', 'voice/status', '', 'https://x.example/voice/status'],
    ['an empty query string', 'https://x.example', '/voice/status', '', 'https://x.example/voice/status'],
    ['a query string given with its ?', 'https://x.example', '/voice/code', '?step=3', 'https://x.example/voice/code?step=3'],
    ['an apostrophe kept raw', 'https://x.example', '/voice/code', "step=1&n=O'Brien", "https://x.example/voice/code?step=1&n=O'Brien"],
    ['%27 kept escaped', 'https://x.example', '/voice/code', 'step=1&n=O%27Brien', 'https://x.example/voice/code?step=1&n=O%27Brien'],
    ['+ and %20 kept as sent', 'https://x.example', '/voice/code', 'a=b+c&d=e%20f', 'https://x.example/voice/code?a=b+c&d=e%20f'],
    ['a doubled slash in the path itself', 'https://x.example/', '//voice/code', undefined, 'https://x.example//voice/code'],
  ])('joins %s', (_, base, path, query, expected) => {
    expect(publicUrl(base, path, query)).toBe(expected);
  });
});
