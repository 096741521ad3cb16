import fc from 'fast-check';
import { getCountries, getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { classify, dialledPart, toE164, type ClassifyContext } from '../../functions/core/classify.ts';
import { isEmergency } from '../../functions/core/emergency.ts';
import { DIRECTORY_NUMBERS, EMERGENCY_NUMBERS, UNIVERSAL_EMERGENCY } from '../../functions/core/numbering-tables.ts';
import { CALL_CLASSES, type CallClass } from '../../functions/core/types.ts';

const ACME: Omit<ClassifyContext, 'homeCountry'> = {
  sipDomains: ['acme.sip.twilio.com'],
  userNumbers: new Set(['+14155550123', '+442079460099']),
};
const from = (homeCountry: string): ClassifyContext => ({ ...ACME, homeCountry });

type Row = readonly [destination: string, home: string, expected: CallClass, why: string];

describe('classify', () => {
  const rows: Row[] = [
    // emergency
    ['911', 'US', 'emergency', '911 is emergency at home'],
    ['112', 'US', 'emergency', '112 is emergency from anywhere'],
    ['911', 'GB', 'emergency', '911 is emergency from anywhere'],
    ['112', 'GB', 'emergency', '112 is the European number'],
    ['999', 'GB', 'emergency', "999 is the UK's number"],
    ['+44999', 'GB', 'emergency', '999 dialled as +44 999'],
    ['+44 999', 'US', 'emergency', 'the calling code names the country, whatever the home'],
    ['+1911', 'US', 'emergency', '911 dialled as +1 911'],
    ['+1 (911)', 'CA', 'emergency', '+1 911 with separators'],
    ['911', 'DE', 'emergency', '911 from Germany'],
    ['112', 'DE', 'emergency', '112 from Germany'],
    ['110', 'DE', 'emergency', 'German police 110'],
    ['+49110', 'DE', 'emergency', 'German police as +49 110'],
    ['911', 'AU', 'emergency', '911 from Australia'],
    ['112', 'AU', 'emergency', '112 from Australia'],
    ['000', 'AU', 'emergency', 'Triple Zero'],
    ['+61000', 'AU', 'emergency', 'Triple Zero as +61 000'],
    ['111', 'NZ', 'emergency', "New Zealand's 111"],
    ['911', 'JP', 'emergency', '911 from Japan'],
    ['112', 'JP', 'emergency', '112 from Japan'],
    ['110', 'JP', 'emergency', 'Japanese police 110'],
    ['119', 'JP', 'emergency', 'Japanese fire and ambulance 119'],
    ['15', 'FR', 'emergency', 'French SAMU 15'],
    ['061', 'ES', 'emergency', 'Spanish medical 061'],
    ['144', 'CH', 'emergency', 'Swiss ambulance 144'],
    ['tel:911', 'US', 'emergency', 'a tel: URI'],
    ['sip:911@acme.sip.twilio.com', 'US', 'emergency', 'the user part of a SIP URI'],
    ['sip:999@acme.sip.twilio.com;transport=udp', 'GB', 'emergency', 'a SIP URI with parameters'],
    ['sip:112@elsewhere.example', 'FR', 'emergency', 'a SIP URI on any domain'],
    ['911', 'XX', 'emergency', '911 with an unsupported home country'],
    // not emergency
    ['999', 'US', 'unknown', "999 is not the US's number"],
    ['000', 'GB', 'unknown', "000 is not the UK's number"],
    ['933', 'US', 'unknown', 'the 933 address test line is not emergency'],
    ['9911', 'US', 'unknown', 'without an outside-line prefix in the settings, 9911 is no emergency number'],
    // internal
    ['client:alice', 'US', 'internal', 'a Voice SDK client'],
    ['sip:bob@acme.sip.twilio.com', 'US', 'internal', 'a named user on the account SIP domain'],
    ['sips:bob@ACME.sip.twilio.com:5061;transport=tls', 'US', 'internal', 'the domain matches case-insensitively, port and params dropped'],
    ['sip:bob@evil.example', 'US', 'external', 'a named user on somebody else’s domain'],
    ['sip:bob@acme.sip.twilio.com.evil.example', 'US', 'external', 'a domain that only starts like ours'],
    ['sip:@acme.sip.twilio.com', 'US', 'unknown', 'a SIP URI with no user'],
    ['+14155550123', 'US', 'internal', 'a number listed as a user'],
    ['(415) 555-0123', 'US', 'internal', 'a user number dialled nationally'],
    ['sip:+14155550123@acme.sip.twilio.com', 'GB', 'internal', 'a user number inside a SIP URI'],
    ['020 7946 0099', 'GB', 'internal', 'a UK user number dialled nationally'],
    // directory
    ['0', 'US', 'directory', 'the NANP operator'],
    ['00', 'US', 'directory', 'the NANP long-distance operator'],
    ['411', 'US', 'directory', 'NANP directory assistance'],
    ['0', 'CA', 'directory', 'the operator from Canada'],
    ['00', 'CA', 'directory', 'the long-distance operator from Canada'],
    ['411', 'CA', 'directory', 'directory assistance from Canada'],
    ['1411', 'US', 'directory', '1 + 411'],
    ['+12125551212', 'US', 'directory', 'NPA-555-1212 directory assistance'],
    ['1-416-555-1212', 'US', 'directory', 'Canadian directory assistance from the US'],
    ['118 118', 'GB', 'directory', 'UK 118 XXX directory enquiries'],
    ['118500', 'GB', 'directory', 'another UK 118 service'],
    ['100', 'GB', 'directory', 'the UK operator'],
    ['1223', 'AU', 'directory', 'Australian directory assistance'],
    ['11811', 'IE', 'directory', 'Irish 118 XX'],
    ['11880', 'DE', 'directory', 'German 118xy'],
    ['118712', 'FR', 'directory', 'French 118 XYZ'],
    ['411', 'GB', 'unknown', '411 means nothing in the UK'],
    ['0', 'GB', 'unknown', '0 means nothing in the UK'],
    ['+18765551212', 'US', 'international', 'Jamaican 555-1212 is still Jamaica'],
    // premium
    ['+19002221234', 'US', 'premium', 'US 1-900 (PREMIUM_RATE)'],
    ['1-900-222-1234', 'CA', 'premium', '1-900 dialled nationally from Canada'],
    ['+449098790000', 'GB', 'premium', 'UK 09 (PREMIUM_RATE)'],
    ['09098 790000', 'GB', 'premium', 'UK 09 dialled nationally'],
    ['+448712345678', 'GB', 'premium', 'UK 0871 (libphonenumber says PREMIUM_RATE)'],
    ['+449098790000', 'US', 'premium', 'foreign premium rate is premium, not international'],
    ['+4918012345678', 'DE', 'premium', 'German 0180 (SHARED_COST)'],
    ['+611300123456', 'AU', 'premium', 'Australian 1300 (SHARED_COST)'],
    // toll-free
    ['+18002345678', 'US', 'tollfree', 'US 1-800'],
    ['1 (888) 234-5678', 'US', 'tollfree', 'US 1-888 dialled nationally'],
    ['+18332345678', 'CA', 'tollfree', 'NANP toll-free from Canada'],
    ['0800 123 4567', 'GB', 'tollfree', 'UK 0800'],
    ['+448001234567', 'GB', 'tollfree', 'UK 0800 in E.164'],
    ['+448001234567', 'US', 'international', 'foreign toll-free is international'],
    // mobile
    ['+447400123456', 'GB', 'mobile', 'a UK mobile at home'],
    ['07400 123456', 'GB', 'mobile', 'a UK mobile dialled nationally'],
    ['+447400123456', 'US', 'international', 'a UK mobile from the US'],
    ['+4915123456789', 'DE', 'mobile', 'a German mobile at home'],
    ['+61412345678', 'AU', 'mobile', 'an Australian mobile at home'],
    ['+447797123456', 'GB', 'international', 'a Jersey mobile is not domestic to the UK'],
    // national
    ['(212) 555-0100', 'US', 'national', 'a US number dialled nationally'],
    ['212.555.0100', 'US', 'national', 'dots as separators'],
    ['+14155550100', 'US', 'national', 'a US number in E.164'],
    ['+14165550100', 'US', 'national', 'Canada from the US'],
    ['+12125550100', 'CA', 'national', 'the US from Canada'],
    ['+17872345678', 'US', 'national', 'Puerto Rico is a US territory'],
    ['+13406421234', 'US', 'national', 'the US Virgin Islands'],
    ['+16713001234', 'US', 'national', 'Guam'],
    ['+16702345678', 'US', 'national', 'the Northern Mariana Islands'],
    ['+16846221234', 'US', 'national', 'American Samoa'],
    ['020 7946 0018', 'GB', 'national', 'a London number dialled nationally'],
    ['+442079460018', 'GB', 'national', 'a London number in E.164'],
    ['tel:+1-212-555-0100;phone-context=example.com', 'US', 'national', 'a tel: URI with parameters'],
    ['sip:+14155550100@acme.sip.twilio.com', 'US', 'national', 'a number in a SIP URI'],
    ['sip:%2B14155550100@acme.sip.twilio.com', 'US', 'national', 'a percent-encoded + in a SIP URI'],
    ['+44 (0)20 7946 0018', 'GB', 'national', 'the (0) written after +44 is dropped by libphonenumber'],
    ['sip:+14155550100@carrier.example', 'US', 'national', 'a number in a SIP URI is the number, whatever the domain'],
    ['+447012345678', 'GB', 'national', 'UK 070 personal numbers (PERSONAL_NUMBER) are not premium-rate'],
    // international
    ['+18762101234', 'US', 'international', 'Jamaica +1 876 from the US'],
    ['+18092345678', 'US', 'international', 'the Dominican Republic +1 809 from the US'],
    ['+18762101234', 'CA', 'international', 'Jamaica from Canada'],
    ['1 809 234 5678', 'US', 'international', 'the Dominican Republic dialled as 1 + ten digits'],
    ['+12423456789', 'US', 'international', 'the Bahamas'],
    ['+14412345678', 'US', 'international', 'Bermuda'],
    ['+16499461234', 'US', 'international', 'Turks and Caicos'],
    ['+17872345678', 'CA', 'international', 'Puerto Rico is not domestic to Canada'],
    ['+442079460018', 'US', 'international', 'London from the US'],
    ['011 44 20 7946 0018', 'US', 'international', 'London with the US international prefix'],
    ['00 1 212 555 0100', 'GB', 'international', 'New York with the UK international prefix'],
    ['sip:+442079460018@acme.sip.twilio.com', 'US', 'international', 'a foreign number in a SIP URI'],
    ['+8613800138000', 'US', 'international', 'a Chinese mobile'],
    ['+14155550100', 'XX', 'international', 'an unsupported home country has no domestic numbers'],
    // unknown
    ['abc', 'US', 'unknown', 'letters'],
    ['', 'US', 'unknown', 'an empty string'],
    ['++1', 'US', 'unknown', 'a doubled plus'],
    ['12', 'US', 'unknown', 'too short'],
    ['client:', 'US', 'unknown', 'a client with no identity'],
    ['sip:acme.sip.twilio.com', 'US', 'unknown', 'a SIP URI with no user'],
    ['1-800-FLOWERS', 'US', 'unknown', 'a vanity number is not converted'],
    ['call 415 555 0100', 'US', 'unknown', 'a number inside text is not extracted'],
    ['+1 700 234 5678', 'US', 'unknown', 'a number libphonenumber holds invalid'],
    ['(212) 555-0100', 'XX', 'unknown', 'a national number with an unsupported home country'],
  ];

  it.each(rows)('classifies %s from %s as %s (%s)', (destination, home, expected) => {
    expect(classify(destination, from(home))).toBe(expected);
  });

  it('accepts a lower-case home country', () => {
    expect(classify('020 7946 0018', from('gb'))).toBe('national');
  });

  it('does without sipDomains and userNumbers', () => {
    expect(classify('sip:bob@acme.sip.twilio.com', { homeCountry: 'US' })).toBe('external');
    expect(classify('+14155550123', { homeCountry: 'US' })).toBe('national');
  });

  it('never throws and always answers a call class, whatever it is given', () => {
    const classes: readonly string[] = CALL_CLASSES;
    const destination = fc.oneof(fc.string(), fc.stringMatching(/^(?:sips?:|tel:|client:)?\+?[0-9 ().-]{0,20}(?:@[a-z.]{0,20})?$/));
    fc.assert(
      fc.property(destination, fc.string({ maxLength: 3 }), (d, home) => {
        expect(classes).toContain(classify(d, { homeCountry: home }));
      }),
    );
    // and from untyped callers
    expect(classify(undefined as unknown as string, undefined as unknown as ClassifyContext)).toBe('unknown');
  });

  it('classifies every tabled emergency number as emergency in every accepted form', () => {
    for (const [country, numbers] of EMERGENCY_NUMBERS) {
      const cc = getCountryCallingCode(country as CountryCode);
      for (const n of [...numbers, ...UNIVERSAL_EMERGENCY]) {
        for (const d of [n, `+${cc}${n}`, `tel:${n}`, `sip:${n}@acme.sip.twilio.com`]) {
          expect(classify(d, from(country)), `${d} from ${country}`).toBe('emergency');
        }
      }
    }
  });
});

describe('numbering tables', () => {
  it('key emergency and directory numbers by countries libphonenumber knows', () => {
    const known = new Set<string>(getCountries());
    for (const country of [...EMERGENCY_NUMBERS.keys(), ...DIRECTORY_NUMBERS.keys()]) expect(known).toContain(country);
  });

  it('hide no valid subscriber number behind an emergency number, nationally or as +<cc><number>', () => {
    for (const country of getCountries()) {
      const cc = getCountryCallingCode(country);
      for (const n of [...(EMERGENCY_NUMBERS.get(country) ?? []), ...UNIVERSAL_EMERGENCY]) {
        expect(parsePhoneNumberFromString(n, country)?.isValid() ?? false, `${n} in ${country}`).toBe(false);
        expect(parsePhoneNumberFromString(`+${cc}${n}`)?.isValid() ?? false, `+${cc}${n}`).toBe(false);
      }
    }
  });
});

describe('isEmergency', () => {
  it.each([
    ['911', undefined, true],
    ['112', undefined, true],
    ['+1911', undefined, true],
    ['+44999', undefined, true],
    ['sip:911@acme.sip.twilio.com', undefined, true],
    ['tel:112', undefined, true],
    [' 9-1-1 ', undefined, true],
    ['999', undefined, false],
    ['999', 'GB', true],
    ['999', 'gb', true],
    ['000', 'AU', true],
    ['000', 'US', false],
    ['112', 'XX', true],
    ['911', '', true],
    ['999', 'not a country', false],
    ['933', 'US', false],
    ['9911', 'US', false],
    ['+14155550100', 'US', false],
    ['client:911', 'US', false],
    ['', undefined, false],
  ] as const)('says %j from %j is %s', (destination, home, expected) => {
    expect(isEmergency(destination, { homeCountry: home })).toBe(expected);
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (d, home) => {
        expect(typeof isEmergency(d, { homeCountry: home })).toBe('boolean');
      }),
    );
    expect(isEmergency(null as unknown as string, undefined)).toBe(false);
  });
});

describe('toE164', () => {
  it.each([
    ['(415) 555-0100', 'US', '+14155550100'],
    ['1 415 555 0100', 'US', '+14155550100'],
    ['+44 20 7946 0018', 'US', '+442079460018'],
    ['011 44 20 7946 0018', 'US', '+442079460018'],
    ['020 7946 0018', 'GB', '+442079460018'],
    ['tel:+1-212-555-0100', 'US', '+12125550100'],
    ['sip:+442079460018@acme.sip.twilio.com;transport=udp', 'US', '+442079460018'],
    ['+14155550100', 'XX', '+14155550100'],
    ['(415) 555-0100', 'XX', undefined],
    ['911', 'US', undefined],
    ['118118', 'GB', undefined],
    ['client:alice', 'US', undefined],
    ['sip:bob@acme.sip.twilio.com', 'US', undefined],
    ['abc', 'US', undefined],
  ] as const)('turns %j from %s into %j', (destination, home, expected) => {
    expect(toE164(destination, home)).toBe(expected);
  });
});

describe('dialledPart', () => {
  it.each([
    ['client:alice', { kind: 'client', user: 'alice' }],
    ['Client:Alice.Smith', { kind: 'client', user: 'Alice.Smith' }],
    ['sip:+442079460018@acme.sip.twilio.com;transport=udp', { kind: 'sip', user: '+442079460018', domain: 'acme.sip.twilio.com' }],
    ['sips:bob@Acme.SIP.twilio.com:5061?X-Foo=bar', { kind: 'sip', user: 'bob', domain: 'acme.sip.twilio.com' }],
    ['sip:john.doe@acme.sip.twilio.com', { kind: 'sip', user: 'john.doe', domain: 'acme.sip.twilio.com' }],
    ['sip:+1-415-555-0100;npdi@acme.sip.twilio.com', { kind: 'sip', user: '+14155550100', domain: 'acme.sip.twilio.com' }],
    ['sip:alice:secret@[2001:db8::1]:5060', { kind: 'sip', user: 'alice', domain: '[2001:db8::1]' }],
    ['sip:%2B14155550100@acme.sip.twilio.com', { kind: 'sip', user: '+14155550100', domain: 'acme.sip.twilio.com' }],
    ['sip:acme.sip.twilio.com', { kind: 'sip', user: '', domain: 'acme.sip.twilio.com' }],
    ['tel:+1-415-555-0100;ext=12', { kind: 'number', user: '+14155550100' }],
    ['(415) 555-0100', { kind: 'number', user: '4155550100' }],
    ['020 7946 0018', { kind: 'number', user: '02079460018' }],
    [' +44 (0)20 7946.0018 ', { kind: 'number', user: '+4402079460018' }],
  ] as const)('takes %j apart', (destination, expected) => {
    expect(dialledPart(destination)).toEqual(expected);
  });
});
