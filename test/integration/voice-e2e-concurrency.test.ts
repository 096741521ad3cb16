/**
 * 100 calls at once through the local stack's HTTP server (one record per call): free,
 * required with a valid code, optional skipped, blocked and emergency calls interleaved, their
 * callbacks in every order, each call checked for what its caller heard and for exactly one
 * usage record — counted the way the export reads them, by the account's local day.
 *
 * Nothing here depends on how fast the machine is: more calls than the local stack's voice
 * concurrency limit (local/http.ts `InvocationGate`) so that some wait their turn, and no
 * deadline but the test's own. The 200- and 1,000-call bursts, and how fast they go, are in
 * `npm run bench` (bench/voice.bench.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePrompts } from '../../functions/core/prompts.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import { startE2eStack, until, type AccountFixture, type E2eStack } from './support/e2e-stack.ts';
import type { CallRun, CallScript } from './support/twilio.ts';

const KINDS = ['free', 'required', 'optional', 'blocked', 'emergency'] as const;
type Kind = (typeof KINDS)[number];

let e2e: E2eStack;
let busy: AccountFixture;

beforeAll(async () => {
  e2e = await startE2eStack();
  busy = await e2e.addAccount('busy', {
    settings: {
      homeCountry: 'US',
      // UTC+14: the local day is rarely the UTC day, so counting by the wrong day would show.
      timeZone: 'Pacific/Kiritimati',
      callerId: '+14155550100',
      calls: { default: 'free', international: 'required', directory: 'optional' },
      groups: { staff: {}, interns: { calls: { international: 'blocked' } } },
      defaultGroup: 'staff',
    },
    codes: [e2e.accountCode('0042', { description: 'Smith v Jones' })],
    users: [{ id: 'client:intern', group: 'interns' }],
  });
});

afterAll(async () => {
  await e2e?.close();
});

function scriptFor(kind: Kind, i: number): CallScript {
  const order = (['dial-first', 'status-first', 'together'] as const)[i % 3];
  const base = { answer: { status: 'completed' as const, talkS: 10 + (i % 50) }, callDuration: 20 + (i % 50), ...(order === undefined ? {} : { order }) };
  switch (kind) {
    case 'free':
      return { ...base, from: `client:user-${i}`, to: '+12125550100' };
    case 'required':
      return { ...base, from: `client:user-${i}`, to: '+442079460018', keys: ['0042#'] };
    case 'optional':
      return { ...base, from: `client:user-${i}`, to: '411', keys: ['#'] };
    case 'blocked':
      return { ...base, from: 'client:intern', to: '+442079460018' };
    case 'emergency':
      return { ...base, from: `client:user-${i}`, to: '911' };
  }
}

const EXPECTED: Record<Kind, { readonly heard: number; readonly dial: string | undefined; readonly record: Partial<CallState> }> = {
  free: { heard: 1, dial: '+12125550100', record: { codeStatus: 'none', outcome: 'completed', destinationClass: 'national' } },
  required: { heard: 2, dial: '+442079460018', record: { codeStatus: 'valid', code: '0042', attempts: 1, outcome: 'completed', destinationClass: 'international' } },
  optional: { heard: 2, dial: '411', record: { codeStatus: 'skipped', attempts: 1, outcome: 'completed', destinationClass: 'directory' } },
  blocked: { heard: 1, dial: undefined, record: { codeStatus: 'none', outcome: 'not-permitted', destinationClass: 'international' } },
  emergency: { heard: 1, dial: '911', record: { codeStatus: 'exempt', outcome: 'completed', destinationClass: 'emergency' } },
};

describe.each([100])('%i simultaneous calls', (CALLS) => {
  it('gives every call the right answer and exactly one usage record', async () => {
    const since = new Date(Date.now() - 60_000);
    const plan = Array.from({ length: CALLS }, (_, i) => ({ kind: KINDS[i % KINDS.length] as Kind, i }));
    const started = performance.now();
    const runs: { kind: Kind; i: number; run: CallRun }[] = await Promise.all(plan.map(async ({ kind, i }) => ({ kind, i, run: await busy.twilio.call(scriptFor(kind, i)) })));
    const ms = performance.now() - started;

    const notPermitted = resolvePrompts(busy.settings.prompts, busy.settings.codeLength).notPermitted;
    for (const { kind, i, run } of runs) {
      const want = EXPECTED[kind];
      const label = `${kind} call ${i} (${run.callSid})`;
      for (const reply of run.replies) expect(reply.status, `${label} ${reply.path}: ${reply.body}`).toBe(200);
      expect(run.heard, label).toHaveLength(want.heard);
      expect(run.dial?.number, label).toBe(want.dial);
      if (kind === 'blocked') expect(run.heard[0], label).toEqual({ says: [notPermitted], hangup: true });
    }

    // Exactly one record per CallSid, found where the export looks: the account's local days.
    const mine = new Set(runs.map((r) => r.run.callSid));
    const records = (await e2e.records('busy', since)).filter((r) => mine.has(r.callSid));
    expect(records).toHaveLength(CALLS);
    expect(new Set(records.map((r) => r.callSid)).size).toBe(CALLS);

    const bySid = new Map(records.map((r) => [r.callSid, r]));
    for (const { kind, i, run } of runs) {
      const script = scriptFor(kind, i);
      const talkS = EXPECTED[kind].dial === undefined ? 0 : (script.answer?.talkS ?? 0);
      expect(bySid.get(run.callSid), `${kind} call ${i}`).toMatchObject({ ...EXPECTED[kind].record, talkS, durationS: script.callDuration });
      expect(await e2e.record(run.callSid), `${kind} call ${i} by CallSid`).toMatchObject(EXPECTED[kind].record);
    }

    // Every emergency call raised its alert.
    const emergencies = new Set(runs.filter((r) => r.kind === 'emergency').map((r) => r.run.callSid));
    const alerted = await until('an alert for every emergency call', 60_000, async () => {
      const seen = new Set((await e2e.alerts()).filter((a) => a.kind === 'emergency' && emergencies.has(a.callSid)).map((a) => a.callSid));
      return seen.size === emergencies.size ? seen : undefined;
    });
    expect(alerted.size).toBe(CALLS / KINDS.length);
    const gate = e2e.stack.routes.gate('tollgate-voice');
    console.info(
      `${CALLS} calls, ${runs.reduce((n, r) => n + r.run.replies.length, 0)} webhooks, in ${Math.round(ms)} ms; at most ${gate?.maxActive} handled and ${gate?.maxWaiting} waiting at once`,
    );
  }, 300_000);
});
