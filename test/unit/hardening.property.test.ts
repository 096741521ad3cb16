/**
 * The attack families of the toll-fraud and emergency hardening (docs/security.md), each a
 * property over a whole family of inputs rather than the example that found it:
 *
 * 1. an emergency `<Dial>` always carries a caller ID — cold container, storage up, down or
 *    hung, signed or not, first webhook or fallback URL — and the user's own when it arrives
 *    in time; the alert names the caller ID used;
 * 2. an emergency number in any spelling (trailing `#`, `%23`, outside-line prefix, `+<cc>`,
 *    `tel:`, SIP URIs with ports and parameters) is dialled at once as its short number;
 * 3. unverified emergency requests: one alert per CallSid, rate-limited per Account SID and
 *    source, marked unverified, address-shaped values only;
 * 4. where a call entered is what Twilio says, never the destination's domain;
 * 5. a number abroad — foreign calling code, foreign NANP region, international prefix, valid
 *    or not — is `international` and never treated more permissively than `international`;
 *    nor is any `unknown` destination;
 * 6. a SIP address on a foreign domain is `external`, treated as `international` unless the
 *    settings say otherwise, and dialled without URI headers;
 * 7. identities are canonical, and failed codes from ever-new spellings trip the account-wide
 *    throttle for callers who are not users.
 *
 * Seeds are fixed so a failure reproduces; `FC_SEED` overrides.
 */
import fc from 'fast-check';
import { getCountries, getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { readTwiml, type Verb } from '../../cli/twiml-reader.ts';
import { decide } from '../../functions/core/callflow.ts';
import { classifyDestination, dialTargetFor } from '../../functions/core/classify.ts';
import { normalizeIdentity } from '../../functions/core/codes.ts';
import { emergencyNumberFor } from '../../functions/core/emergency.ts';
import { EMERGENCY_NUMBERS, UNIVERSAL_EMERGENCY } from '../../functions/core/numbering-tables.ts';
import { resolvePolicy } from '../../functions/core/policy.ts';
import type { Settings, UserRecord } from '../../functions/core/settings.ts';
import type { Treatment } from '../../functions/core/types.ts';
import { GLOBAL_PER_MINUTE } from '../../functions/services/alert-gate.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';
import { DOMAIN, NOW, settingsArb } from '../support/arbitraries.ts';
import { memoryVoice, type StorageMode } from '../support/memory-voice.ts';
import { testSettings } from '../support/settings.ts';

const SEED = Number(process.env.FC_SEED ?? 20261204);
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'hardening-token';
const BASE = 'https://voice.hardening.example';
const USER_CALLER_ID = '+14155550177';
const ORDER: readonly Treatment[] = ['free', 'optional', 'required', 'authorized', 'blocked'];
const strictness = (t: Treatment) => ORDER.indexOf(t);

let sids = 0;
const freshCallSid = () => `CA${(++sids).toString(16).padStart(32, '0')}`;

/** The one `<Dial>` of an answer, or a failure that shows the whole answer. */
function dialOf(xml: string): Extract<Verb, { verb: 'Dial' }> {
  const dial = readTwiml(xml).find((v): v is Extract<Verb, { verb: 'Dial' }> => v.verb === 'Dial');
  if (dial === undefined) throw new Error(`no <Dial> in ${xml}`);
  return dial;
}

/** Every spelling a phone or softphone sends an emergency number in, for these settings. */
function emergencySpellings(n: string, settings: Settings): string[] {
  const cc = getCountryCallingCode(settings.homeCountry as CountryCode);
  const spaced = n.split('').join(' ');
  const forms = [
    n,
    `${n}#`,
    `${n}##`,
    spaced,
    `+${cc}${n}`,
    `+${cc} ${n}#`,
    `tel:${n}`,
    `tel:+${cc}${n};phone-context=example`,
    `sip:${n}@${DOMAIN}`,
    `sips:${n}@${DOMAIN}:5061;transport=tls`,
    `sip:${n}%23@${DOMAIN}`,
    `sip:${n}@${DOMAIN}?X-Note=hello`,
    `sip:+${cc}${n}@elsewhere.example`,
  ];
  const prefix = settings.outsideLinePrefix;
  if (prefix !== undefined) forms.push(`${prefix}${n}`, `${prefix}${n}#`, `sip:${prefix}${n}@${DOMAIN}`, `sip:${prefix}${n}%23@${DOMAIN}`);
  return forms;
}

const emergencyCase = settingsArb.chain((settings) => {
  const numbers = [...UNIVERSAL_EMERGENCY, ...(EMERGENCY_NUMBERS.get(settings.homeCountry) ?? [])];
  return fc.record({
    settings: fc.constant(settings),
    to: fc.constantFrom(...numbers).chain((n) => fc.constantFrom(...emergencySpellings(n, settings)).map((to) => ({ n, to }))),
    user: fc.option(fc.record({ id: fc.constant(`sip:alice@${DOMAIN}`), callerId: fc.option(fc.constant(USER_CALLER_ID), { nil: undefined }) }), { nil: undefined }),
  });
});

/** What a caller ID chain gives: user → entry point → account → the deployment's. */
function expectedCallerId(settings: Settings, user: { callerId?: string | undefined } | undefined): string {
  return user?.callerId ?? settings.entryPoints[DOMAIN]?.callerId ?? settings.callerId ?? EMERGENCY_CALLER_ID;
}

describe('1 and 2: emergency numbers in every spelling dial at once, always with a caller ID', () => {
  it('the call flow dials the short number with the best caller ID, for every spelling and any settings', () => {
    fc.assert(
      fc.property(emergencyCase, ({ settings, to: { n, to }, user }) => {
        const found = classifyDestination(to, { homeCountry: settings.homeCountry, outsideLinePrefix: settings.outsideLinePrefix, sipDomains: [DOMAIN] });
        expect(found.callClass, to).toBe('emergency');
        const record: UserRecord | undefined = user === undefined ? undefined : { id: user.id, ...(user.callerId === undefined ? {} : { callerId: user.callerId }) };
        const d = decide(
          undefined,
          { type: 'start', call: { callSid: 'CA1', from: `sip:alice@${DOMAIN}`, to, sipDomain: DOMAIN }, user: record, lockout: undefined, emergencyCallerId: EMERGENCY_CALLER_ID },
          { settings, now: NOW },
        );
        expect(d.actions, to).toEqual([{ type: 'dial', target: { kind: 'number', number: n }, callerId: expectedCallerId(settings, user) }]);
        expect(d.effects).toContainEqual(expect.objectContaining({ kind: 'emergency', callerId: expectedCallerId(settings, user) }));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('a cold voice function answers every spelling with a caller ID, whatever storage does, and the alert names it', async () => {
    const modes: StorageMode[] = ['up', 'down', 'hung'];
    await fc.assert(
      fc.asyncProperty(
        emergencyCase,
        fc.constantFrom(...modes),
        fc.boolean(),
        fc.constantFrom('/voice/incoming', '/voice/fallback'),
        async ({ settings, to: { n, to }, user }, mode, signed, path) => {
          const voice = memoryVoice({
            settings: { ...settings, twilioAccountSids: [SID] },
            accountSid: SID,
            token: TOKEN,
            baseUrl: BASE,
            users: user === undefined ? [] : [{ id: user.id, ...(user.callerId === undefined ? {} : { callerId: user.callerId }) }],
          });
          voice.storage.mode = mode;
          const from = `sip:alice@${DOMAIN}`;
          const reply = await voice.post(path, { AccountSid: SID, CallSid: freshCallSid(), From: from, To: to, SipDomain: DOMAIN }, { signed });
          expect(reply.statusCode, `${path} ${to} (${mode}, signed ${signed}): ${reply.body}`).toBe(200);
          const dial = dialOf(reply.body);
          expect(dial.target).toEqual({ kind: 'number', value: n });
          expect(dial.callerId, `${path} ${to} (${mode}, signed ${signed})`).toMatch(/^\+[1-9][0-9]{1,14}$/);
          // With storage answering and a verified request, the user's own caller ID (then the
          // entry point's, the account's); unverified, the account's from the settings storage
          // gave; with nothing to go on (storage down or hung, the fallback URL), the deployment's.
          const answering = path === '/voice/incoming' && mode === 'up';
          const best = answering && signed ? expectedCallerId(settings, user) : answering ? (settings.callerId ?? EMERGENCY_CALLER_ID) : EMERGENCY_CALLER_ID;
          expect(dial.callerId).toBe(best);
          for (const alert of voice.alerts) expect(alert.callerId).toBe(dial.callerId);
          if (path === '/voice/incoming' && mode === 'up' && signed) expect(voice.alerts).toHaveLength(1);
        },
      ),
      { seed: SEED, numRuns: 120 },
    );
  });

  it('an emergency call through a broken handler still dials with a caller ID (the error path)', async () => {
    const settings = settingsOf({ callerId: '+14155550100' });
    const voice = memoryVoice({ settings, accountSid: SID, token: TOKEN, baseUrl: BASE });
    // Warm the settings, then break the call store only: the first webhook's write throws.
    await voice.post('/voice/incoming', { AccountSid: SID, CallSid: freshCallSid(), From: 'client:alice', To: '+14155550123' });
    voice.deps.calls.put = async () => {
      throw new Error('a bug');
    };
    const reply = await voice.post('/voice/incoming', { AccountSid: SID, CallSid: freshCallSid(), From: 'client:alice', To: '911#' });
    expect(dialOf(reply.body)).toMatchObject({ target: { kind: 'number', value: '911' }, callerId: '+14155550100' });
  });
});

describe('3: unverified emergency requests', () => {
  const fromText = fc.oneof(
    fc.constantFrom('client:alice', '+14155550123', 'sip:bob@acme.sip.twilio.com'),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('Evil\r\nSubject: pay now', 'sip:x@y\nFrom: security@corp', `${'A'.repeat(500)}`, '<script>alert(1)</script>'),
  );
  const request = fc.record({
    callSid: fc.oneof(
      fc.constantFrom('CA00000000000000000000000000000001', 'CA00000000000000000000000000000002'),
      fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `CA${h}`),
    ),
    accountSid: fc.constantFrom(SID, 'AC11111111111111111111111111111111', 'ACnot-a-sid'),
    sourceIp: fc.constantFrom('198.51.100.1', '198.51.100.2', '203.0.113.9'),
    from: fromText,
    to: fc.constantFrom('911', '112', '911#', '+1911'),
  });

  it('every one is dialled; alerts are one per CallSid, at most one per Account SID and source a minute, marked and address-shaped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 60 }), async (requests) => {
        const voice = memoryVoice({ settings: settingsOf({}), accountSid: SID, token: TOKEN, baseUrl: BASE });
        for (const r of requests) {
          const reply = await voice.post('/voice/incoming', { AccountSid: r.accountSid, CallSid: r.callSid, From: r.from, To: r.to }, { signed: false, sourceIp: r.sourceIp });
          expect(reply.statusCode).toBe(200);
          expect(dialOf(reply.body).callerId).toMatch(/^\+[1-9][0-9]+$/);
        }
        const alerts = voice.alerts;
        expect(alerts.every((a) => !a.verified)).toBe(true);
        expect(new Set(alerts.map((a) => a.callSid)).size).toBe(alerts.length);
        expect(alerts.length).toBeLessThanOrEqual(Math.min(GLOBAL_PER_MINUTE, new Set(requests.map((r) => r.accountSid)).size, new Set(requests.map((r) => r.sourceIp)).size));
        // Everything held back is counted, and nothing twice.
        const distinctCalls = new Set(requests.map((r) => r.callSid)).size;
        const accounted = alerts.reduce((n, a) => n + 1 + (a.folded ?? 0), 0);
        expect(accounted).toBeLessThanOrEqual(distinctCalls);
        for (const a of alerts) {
          for (const value of [a.user, a.callerId, a.destination, a.callSid]) {
            expect(value).not.toMatch(/[\r\n\u0000-\u001f<>]/);
            expect(value.length).toBeLessThanOrEqual(64);
          }
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('folds a flood of 2,000 forged requests into a handful of alerts', async () => {
    const voice = memoryVoice({ settings: settingsOf({}), accountSid: SID, token: TOKEN, baseUrl: BASE });
    for (let i = 0; i < 2_000; i++) {
      const reply = await voice.post(
        '/voice/incoming',
        { AccountSid: SID, CallSid: freshCallSid(), From: `line ${i}\nmore`, To: '911' },
        { signed: false, sourceIp: `10.0.${i % 7}.1` },
      );
      expect(reply.statusCode).toBe(200);
    }
    expect(voice.alerts).toHaveLength(1);
    expect(voice.alerts[0]?.user).toBe('(not an address)');
  });
});

describe('4: where a call entered is what Twilio says', () => {
  it('a destination on a codes-off entry point is judged under the caller’s own entry point', () => {
    const destinations = fc.constantFrom('+19005550100', '+18765550100', '+442079460000', '+882123456789', '011442079460000', '+19005551234');
    const cases = fc.record({
      settings: settingsArb,
      number: destinations,
      via: fc.constantFrom<'sip' | 'app' | 'none'>('sip', 'app', 'none'),
      lobby: fc.constantFrom('lobby.sip.twilio.com', 'LOBBY.sip.twilio.com:5060', 'lobby.sip.twilio.com;transport=tls'),
    });
    fc.assert(
      fc.property(cases, ({ settings: base, number, via, lobby }) => {
        const settings: Settings = { ...base, entryPoints: { ...base.entryPoints, 'lobby.sip.twilio.com': { codes: false, tagByCallerId: true } } };
        const entered = via === 'sip' ? { sipDomain: DOMAIN } : via === 'app' ? { applicationSid: 'AP0123456789abcdef0123456789abcdef' } : {};
        const to = `sip:${number}@${lobby}`;
        const d = decide(
          undefined,
          { type: 'start', call: { callSid: 'CA1', from: 'client:intern', to, ...entered }, user: undefined, lockout: undefined, emergencyCallerId: EMERGENCY_CALLER_ID },
          { settings, now: NOW },
        );
        expect(d.state.entryPoint).not.toBe('lobby.sip.twilio.com');
        const own = via === 'sip' ? settings.entryPoints[DOMAIN] : undefined;
        const found = classifyDestination(to, { homeCountry: settings.homeCountry, outsideLinePrefix: settings.outsideLinePrefix, sipDomains: Object.keys(settings.entryPoints) });
        const expected = resolvePolicy({ settings, user: undefined, entryPoint: own, callClass: found.callClass, foreign: found.foreign }).treatment;
        expect(d.state.treatment, to).toBe(expected);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

/** Calling codes of other countries and of international networks (satellite, +882/+883, +800 freephone…). */
const NON_GEOGRAPHIC = ['800', '808', '870', '878', '881', '882', '883', '888', '979'];
/** NANP area codes of countries other than the US and Canada (and not US territories). */
const FOREIGN_NANP = ['242', '246', '264', '268', '284', '345', '441', '473', '649', '658', '664', '721', '758', '767', '784', '809', '829', '849', '868', '869', '876'];

describe('5: numbers abroad, valid or not', () => {
  const foreign = fc
    .record({
      settings: settingsArb,
      tail: fc.stringMatching(/^[0-9]{3,14}$/),
      cc: fc.constantFrom(...new Set([...getCountries().map((c) => getCountryCallingCode(c)), ...NON_GEOGRAPHIC])),
      spelling: fc.constantFrom('plus', '00', 'idd', 'sip-own', 'sip-far', 'prefix-00', 'spaced'),
    })
    .filter(({ settings, cc }) => cc !== getCountryCallingCode(settings.homeCountry as CountryCode));

  function spell(spelling: string, cc: string, tail: string, settings: Settings): string {
    const nanp = getCountryCallingCode(settings.homeCountry as CountryCode) === '1';
    switch (spelling) {
      case 'plus':
        return `+${cc}${tail}`;
      case '00':
        return `00${cc}${tail}`;
      case 'idd':
        return nanp ? `011${cc}${tail}` : settings.homeCountry === 'AU' ? `0011${cc}${tail}` : settings.homeCountry === 'JP' ? `010${cc}${tail}` : `00${cc}${tail}`;
      case 'sip-own':
        return `sip:+${cc}${tail}@${DOMAIN}`;
      case 'sip-far':
        return `sip:00${cc}${tail}@far.example;user=phone`;
      case 'prefix-00':
        return `${settings.outsideLinePrefix ?? ''}00${cc}${tail}`;
      default:
        return `+${cc} ${tail.slice(0, 3)} ${tail.slice(3)}`;
    }
  }

  it('a foreign calling code, in any spelling, is international (or premium) and never treated more permissively', () => {
    fc.assert(
      fc.property(foreign, ({ settings, tail, cc, spelling }) => {
        const to = spell(spelling, cc, tail, settings);
        const ctx = { homeCountry: settings.homeCountry, outsideLinePrefix: settings.outsideLinePrefix, sipDomains: [DOMAIN] };
        fc.pre(emergencyNumberFor(to, ctx) === undefined);
        const found = classifyDestination(to, ctx);
        expect(['international', 'premium'], `${to} from ${settings.homeCountry}: ${found.callClass}`).toContain(found.callClass);
        expect(found.foreign).toBe(true);
        for (const group of [undefined, ...Object.keys(settings.groups)]) {
          const user = group === undefined ? undefined : { id: 'client:x', group };
          const got = resolvePolicy({ settings, user, entryPoint: undefined, callClass: found.callClass, foreign: found.foreign }).treatment;
          const floor = resolvePolicy({ settings, user, entryPoint: undefined, callClass: 'international' }).treatment;
          expect(strictness(got), `${to}: ${got} is looser than international's ${floor}`).toBeGreaterThanOrEqual(strictness(floor));
        }
        // What is dialled is the same number in international form, never the digits as typed.
        const target = dialTargetFor(to, ctx);
        expect(target.kind).toBe('number');
        if (target.kind === 'number') expect(target.number.startsWith(`+${cc}`), `${to} dialled as ${target.number}`).toBe(true);
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('another NANP country is international from the US and Canada, valid, unallocated or over-long', () => {
    fc.assert(
      fc.property(fc.constantFrom('US', 'CA'), fc.constantFrom(...FOREIGN_NANP), fc.stringMatching(/^[0-9]{7,9}$/), fc.constantFrom('+1', '1', ''), (home, npa, rest, lead) => {
        fc.pre(lead !== '' || rest.length === 7);
        const to = `${lead}${npa}${rest}`;
        const found = classifyDestination(to, { homeCountry: home });
        expect(found.callClass, `${to} from ${home}`).toBe('international');
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('no unknown destination is treated more permissively than an international one', () => {
    fc.assert(
      fc.property(settingsArb, fc.oneof(fc.stringMatching(/^\+?[0-9]{1,18}$/), fc.string({ maxLength: 16 })), (settings, to) => {
        const found = classifyDestination(to, { homeCountry: settings.homeCountry, outsideLinePrefix: settings.outsideLinePrefix, sipDomains: [DOMAIN] });
        fc.pre(found.callClass === 'unknown');
        const got = resolvePolicy({ settings, user: undefined, entryPoint: undefined, callClass: 'unknown' }).treatment;
        const floor = resolvePolicy({ settings, user: undefined, entryPoint: undefined, callClass: 'international' }).treatment;
        expect(strictness(got)).toBeGreaterThanOrEqual(strictness(floor));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});

describe('6: SIP addresses on other domains', () => {
  it('are external, treated as international unless the settings name external, and dialled without URI headers', () => {
    const cases = fc.record({
      settings: settingsArb,
      user: fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}$/),
      host: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}\.(example|test|invalid)$/),
      tail: fc.constantFrom('', ':5060', ';transport=tcp', '?X-Billing=none&Route=evil', ';lr?X-Caller=911'),
    });
    fc.assert(
      fc.property(cases, ({ settings, user, host, tail }) => {
        const to = `sip:${user}@${host}${tail}`;
        const ctx = { homeCountry: settings.homeCountry, sipDomains: [DOMAIN] };
        const found = classifyDestination(to, ctx);
        expect(found.callClass, to).toBe('external');
        const got = resolvePolicy({ settings, user: undefined, entryPoint: undefined, callClass: 'external' }).treatment;
        const group = settings.defaultGroup === undefined ? undefined : settings.groups[settings.defaultGroup];
        if (settings.calls.external === undefined && group?.calls?.external === undefined) {
          expect(got).toBe(resolvePolicy({ settings, user: undefined, entryPoint: undefined, callClass: 'international' }).treatment);
        }
        const target = dialTargetFor(to, ctx);
        expect(target.kind).toBe('sip');
        if (target.kind === 'sip') expect(target.uri).not.toContain('?');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('7: canonical identities and the account-wide throttle', () => {
  it('every spelling of a SIP address is one identity; another host is another identity', () => {
    const cases = fc.record({
      user: fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}$/),
      upper: fc.boolean(),
      port: fc.constantFrom('', ':5060', ':5061'),
      params: fc.constantFrom('', ';transport=tls', ';user=phone;lr'),
      headers: fc.constantFrom('', '?X-a=b'),
      display: fc.constantFrom('', '"Bob" ', 'Bob '),
      scheme: fc.constantFrom('sip', 'SIP', 'sips'),
      escape: fc.boolean(),
    });
    fc.assert(
      fc.property(cases, ({ user, upper, port, params, headers, display, scheme, escape: encoded }) => {
        const u = encoded ? `%${user.charCodeAt(0).toString(16)}${user.slice(1)}` : user;
        const host = upper ? DOMAIN.toUpperCase() : DOMAIN;
        const spelled = `${scheme}:${upper ? u.toUpperCase() : u}@${host}${port}${params}${headers}`;
        const from = display === '' ? spelled : `${display}<${spelled}>`;
        expect(normalizeIdentity(from), from).toBe(`sip:${user}@${DOMAIN}`);
        expect(normalizeIdentity(`sip:${user}@other.example`)).not.toBe(normalizeIdentity(from));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('failed codes from ever-new caller spellings lock code entry for callers who are not users, never for users or 911', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.constantFrom('required', 'authorized'), async (accountFailures, treatment) => {
        const settings = settingsOf({
          calls: { default: treatment },
          codeLength: { min: 4, max: 4 },
          lockout: { failures: 3, windowMinutes: 15, lockMinutes: 60, accountFailures },
        });
        const listed = `sip:alice@${DOMAIN}`;
        const voice = memoryVoice({ settings, accountSid: SID, token: TOKEN, baseUrl: BASE, users: [{ id: listed }] });
        const call = (from: string, to = '+14155550123') => ({ AccountSid: SID, CallSid: freshCallSid(), From: from, To: to, SipDomain: DOMAIN });
        // One wrong code each, from a caller spelled anew every time.
        for (let i = 0; i <= accountFailures; i++) {
          const params = call(`sip:bob${i}@host${i}.evil.example:5060;transport=udp`);
          const first = readTwiml((await voice.post('/voice/incoming', params)).body);
          expect(first[0]?.verb, `attempt ${i}`).toBe('Gather');
          await voice.post('/voice/code', { ...params, Digits: '9999', FinishedOnKey: '#' }, { query: 'step=1' });
        }
        // The next stranger hears that code entry is locked; a listed user is still asked; 911 still dials.
        const stranger = readTwiml((await voice.post('/voice/incoming', call('sip:mallory@fresh.example'))).body);
        expect(stranger.map((v) => v.verb)).toEqual(['Say', 'Hangup']);
        const user = readTwiml((await voice.post('/voice/incoming', call(listed))).body);
        expect(user[0]?.verb).toBe('Gather');
        const emergency = readTwiml((await voice.post('/voice/incoming', call('sip:mallory@fresh.example', '911'))).body);
        expect(emergency[0]).toMatchObject({ verb: 'Dial', target: { kind: 'number', value: '911' } });
        expect(voice.alerts.filter((a) => a.kind === 'throttle')).toHaveLength(1);
      }),
      { seed: SEED, numRuns: 12 },
    );
  });
});

function settingsOf(extra: Record<string, unknown>): Settings {
  return testSettings({ twilioAccountSids: [SID], entryPoints: { [DOMAIN]: {} }, ...extra });
}
