/**
 * `tollgate call`, the simulated caller, run in process against a local stack started by the
 * test: what it prints, and the usage record its webhooks leave.
 */
import { join } from 'node:path';
import { localDate } from '../../functions/core/time.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePrompts, type Prompts } from '../../functions/core/prompts.ts';
import { cliRunner, type CliRunner } from './support/cli-io.ts';
import { E2E_TOKEN, startE2eStack, type E2eStack } from './support/e2e-stack.ts';

const REPO = join(import.meta.dirname, '..', '..');

let e2e: E2eStack;
let tollgate: CliRunner;
let P: Prompts;

beforeAll(async () => {
  e2e = await startE2eStack();
  const acme = await e2e.addAccount('acme', {
    settings: {
      callerId: '+14155550100',
      calls: { default: 'free', international: 'required' },
      groups: { staff: {}, interns: { calls: { international: 'blocked' } } },
      defaultGroup: 'staff',
    },
    codes: [e2e.accountCode('0042', { description: 'Smith v Jones' })],
    users: [
      { id: 'client:alice', group: 'staff', callerId: '+14155550122' },
      { id: 'client:ivan', group: 'interns' },
    ],
  });
  P = resolvePrompts(acme.settings.prompts, acme.settings.codeLength);
  tollgate = cliRunner({ env: { TOLLGATE_HOME: e2e.home, TWILIO_AUTH_TOKEN: E2E_TOKEN }, cwd: REPO });
});

afterAll(async () => {
  await e2e?.close();
});

function callSidIn(stdout: string): string {
  const sid = /stored under (CA[0-9a-f]{32})/.exec(stdout)?.[1];
  if (sid === undefined) throw new Error(`no CallSid in:\n${stdout}`);
  return sid;
}

describe('tollgate call', () => {
  it('prints the prompt, the retry and the dial of a required call answered with --digits 9999#,0042#, and leaves a valid, completed record', async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--digits', '9999#,0042#', '--talk', '42']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Calling \+442079460018 from client:alice \(call CA[0-9a-f]{32}\)$/);
    expect(lines.slice(1, -1)).toEqual([
      `  🔊 "${P.accountCode}"`,
      '  ☎ caller presses: 9999#',
      `  🔊 "${P.invalidCode} ${P.accountCode}"`,
      '  ☎ caller presses: 0042#',
      '  📞 dialling +442079460018 (caller ID +14155550122)',
      '  📞 answered; talking for 42 s (simulated)',
      '  ☎ call ends',
    ]);
    expect(lines.at(-1)).toMatch(/^Call over after \d+ s; its usage record is stored under CA[0-9a-f]{32}\.$/);
    expect(await e2e.record(callSidIn(r.stdout))).toMatchObject({
      account: 'acme',
      user: 'client:alice',
      destinationClass: 'international',
      codeStatus: 'valid',
      code: '0042',
      codeDescription: 'Smith v Jones',
      codeKind: 'account',
      attempts: 2,
      outcome: 'completed',
      talkS: 42,
    });
    // The simulated call lasted what its status callback says: it ended that long after it began.
    const record = await e2e.record(callSidIn(r.stdout));
    expect(record?.durationS).toBeGreaterThanOrEqual(42);
    expect(Date.parse(record?.endedAt ?? '') - Date.parse(record?.startedAt ?? '')).toBe((record?.durationS ?? 0) * 1000);
  });

  it('prints "not permitted" and the hang-up for a blocked call', async () => {
    const r = await tollgate(['call', '--from', 'client:ivan', '--to', '+442079460018']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  🔊 "${P.notPermitted}"\n  ☎ call ends\n`);
    expect(r.stdout).not.toContain('dialling');
    expect(await e2e.record(callSidIn(r.stdout))).toMatchObject({ outcome: 'not-permitted', codeStatus: 'none' });
  });

  it('hangs up at the prompt when the scripted keys run out, and the call is recorded as abandoned', async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--digits', '']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ☎ caller presses: (nothing)\n');
    expect(r.stdout).toContain('  ☎ caller hangs up\n');
    expect(await e2e.record(callSidIn(r.stdout))).toMatchObject({ outcome: 'abandoned', attempts: 1, codeStatus: 'none' });
  });

  it('takes the account code a Voice SDK app sends (--param accountCode=…): no prompt when valid, the usual prompt after an invalid one', async () => {
    const valid = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--param', 'accountCode=0042', '--digits', '', '--talk', '5']);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).not.toContain('🔊');
    expect(valid.stdout).toContain('📞 dialling +442079460018');
    expect(await e2e.record(callSidIn(valid.stdout))).toMatchObject({ codeStatus: 'valid', code: '0042', attempts: 1, outcome: 'completed' });
    const invalid = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--param', 'accountCode=0043', '--digits', '0042#', '--talk', '5']);
    expect(invalid.stdout).toContain(`  🔊 "${P.invalidCode} ${P.accountCode}"`);
    expect(await e2e.record(callSidIn(invalid.stdout))).toMatchObject({ codeStatus: 'valid', code: '0042', attempts: 2 });
    // An app that sends a lone # sent no code: the usual first prompt, nothing counted.
    const none = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--param', 'accountCode=#', '--digits', '0042#', '--talk', '5']);
    expect(none.stdout).toContain(`  🔊 "${P.accountCode}"`);
    expect(none.stdout).not.toContain(P.invalidCode);
    expect(await e2e.record(callSidIn(none.stdout))).toMatchObject({ codeStatus: 'valid', attempts: 1 });
    const bad = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--param', 'CallSid=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Twilio sets CallSid itself/);
  });

  it('offers the after-call prompt when the dialled party hangs up first, and the caller tags the call', async () => {
    await e2e.stores.users.putUsers('acme', [{ id: 'client:paula', group: 'staff', afterCallPrompt: true, language: 'es-US' }]);
    // A national call is free here: no prompt before it, so it carries no code.
    const r = await tollgate(['call', '--from', 'client:paula', '--to', '+12125550177', '--digits', '0042#', '--talk', '65']);
    expect(r.code, r.stderr).toBe(0);
    const es = resolvePrompts(undefined, { min: 4, max: 6 }, 'es-US');
    expect(r.stdout).toContain(`  🔊 "${es.afterCallCode}"`);
    expect(r.stdout).toContain(`  🔊 "${es.afterCallThanks}"`);
    expect(await e2e.record(callSidIn(r.stdout))).toMatchObject({ codeStatus: 'tagged', code: '0042', taggedBy: 'client:paula', talkS: 65, outcome: 'completed', phase: 'ended' });
  });

  it('refuses a bare identity, showing the forms that are accepted', async () => {
    const r = await tollgate(['call', '--from', 'alice', '--to', '+442079460018']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"alice" is not an identity: write it in full, as client:alice .* sip:alice@acme\.sip\.twilio\.com .* \+14155550123/);
  });

  it("lists a day's calls, and only one user's or one code's", async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--digits', '0042#', '--talk', '12']);
    const sid = callSidIn(r.stdout);
    const record = await e2e.record(sid);
    // The account's local day (New York): a fixed offset would be wrong for half the year.
    const day = localDate(new Date(record?.startedAt ?? ''), 'America/New_York');
    const all = await tollgate(['calls', 'list', '--date', day, '--account', 'acme']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^STARTED\s+USER\s+DESTINATION\s+CLASS\s+CODE\s+STATUS\s+OUTCOME\s+TALK\s+CALL$/m);
    expect(all.stdout).toMatch(new RegExp(`client:alice\\s+\\+442079460018\\s+international\\s+0042\\s+valid\\s+completed\\s+12 s\\s+${sid}`));
    const ivan = await tollgate(['calls', 'list', '--date', day, '--user', 'client:ivan', '--account', 'acme']);
    expect(ivan.stdout).not.toContain(sid);
    const byCode = await tollgate(['calls', 'list', '--date', day, '--code', '0042', '--account', 'acme']);
    expect(byCode.stdout).toContain(sid);
    expect((await tollgate(['calls', 'list', '--date', '2001-01-01', '--account', 'acme'])).stdout).toMatch(/^no calls in acme on 2001-01-01$/m);
    expect((await tollgate(['calls', 'list', '--account', 'acme'])).stderr).toMatch(/--date is missing/);
  });

  it('is refused, and says so, when it signs with another token', async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--digits', '0042#'], { env: { TWILIO_AUTH_TOKEN: 'stale-token' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/voice\/incoming answered 403/);
  });
});
