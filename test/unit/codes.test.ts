/** Code checks and identities (functions/core/codes.ts). */
import { describe, expect, it } from 'vitest';
import { checkCode, enteredDigits, isAllowedFor, normalizeIdentity, type CodeCheck, type CodeCheckContext, type StoredCode } from '../../functions/core/codes.ts';
import { ACCOUNT_CODE, ALICE, AUTH_CODE, NOW } from '../support/code-fixtures.ts';

describe('codes', () => {
  const ctx: CodeCheckContext = { kind: 'account', user: ALICE, group: 'staff', minLevel: 0, now: NOW, timeZone: 'America/New_York' };

  it.each<readonly [string, StoredCode | undefined, Partial<CodeCheckContext>, CodeCheck]>([
    ['a good code', ACCOUNT_CODE, {}, { ok: true, code: ACCOUNT_CODE }],
    ['no code', undefined, {}, { ok: false, reason: 'not-found' }],
    ['a code of the other kind', AUTH_CODE, {}, { ok: false, reason: 'wrong-kind' }],
    ['a disabled code', { ...ACCOUNT_CODE, enabled: false }, {}, { ok: false, reason: 'disabled' }],
    ['a code that expired yesterday', { ...ACCOUNT_CODE, expires: '2026-06-14' }, {}, { ok: false, reason: 'expired' }],
    ['a code that expires today', { ...ACCOUNT_CODE, expires: '2026-06-15' }, {}, { ok: true, code: { ...ACCOUNT_CODE, expires: '2026-06-15' } }],
    ['a code for somebody else', { ...ACCOUNT_CODE, users: ['client:bob'] }, {}, { ok: false, reason: 'not-allowed' }],
    ['an authorization code below the level', { ...AUTH_CODE, level: 1 }, { kind: 'authorization', minLevel: 2 }, { ok: false, reason: 'low-level' }],
    ['an authorization code with no level where one is needed', { ...AUTH_CODE, level: undefined }, { kind: 'authorization', minLevel: 1 }, { ok: false, reason: 'low-level' }],
    ['an authorization code at the level', AUTH_CODE, { kind: 'authorization', minLevel: 2 }, { ok: true, code: AUTH_CODE }],
  ])('checkCode: %s', (_what, code, patch, expected) => {
    expect(checkCode(code, { ...ctx, ...patch })).toEqual(expected);
  });

  it('opens a code with empty lists to everyone', () => {
    expect(isAllowedFor({ ...ACCOUNT_CODE, users: [], groups: [] }, 'client:anyone', undefined)).toBe(true);
    expect(isAllowedFor({ ...ACCOUNT_CODE, groups: ['staff'] }, 'client:anyone', undefined)).toBe(false);
  });

  it.each([
    ['sip:Alice@Acme.sip.twilio.com;transport=tls', 'sip:alice@acme.sip.twilio.com'],
    ['sips:alice@acme.sip.twilio.com?X-h=1', 'sip:alice@acme.sip.twilio.com'],
    ['client:Alice', 'client:Alice'],
    [' +14155550123 ', '+14155550123'],
  ])('normalizes the identity %j to %j', (id, expected) => {
    expect(normalizeIdentity(id)).toBe(expected);
  });

  it.each([
    ['0042#', '0042'],
    ['0042##', '0042'],
    ['#', ''],
    ['', ''],
    ['00#42', '00#42'],
  ])('takes %j as the digits %j (only the trailing # ends the entry)', (raw, digits) => {
    expect(enteredDigits(raw)).toBe(digits);
  });
});
