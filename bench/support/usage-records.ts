/**
 * The usage records every export benchmark uses: one account's calls of one local day, spread
 * evenly over the day, with the mix a law firm's day has — mostly account-coded calls over
 * 2,000 matters, some authorization-coded, some free, skipped or refused — generated the same
 * way for the seeding and for the checks.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { callItem } from '../../functions/adapters/dynamodb/calls.ts';
import type { CallState } from '../../functions/core/callflow.ts';
import type { TableNames } from '../../functions/adapters/dynamodb/tables.ts';

export const ACCOUNT = 'bench';
export const BUCKET = 'tollgate-bench';
export const DAY = '2026-06-15';
export const TIME_ZONE = 'America/New_York';
/** 2026-06-15 00:00 EDT; the day lasts 24 h. */
const DAY_START = Date.parse('2026-06-15T04:00:00.000Z');
export const TABLES: TableNames = { accounts: 'bench-accounts', codes: 'bench-codes', calls: 'bench-calls' };
/** Distinct account codes used over the day. */
export const MATTERS = 2_000;
/** Generous: dynalite holding a million items in memory pauses for garbage collection now and then. */
export const REQUEST_TIMEOUT_MS = 30_000;

export function benchSettings(): Record<string, unknown> {
  return {
    account: ACCOUNT,
    twilioAccountSids: [`AC${'e'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: TIME_ZONE,
    codeLength: { min: 4, max: 8 },
  };
}

/** Call `i` of `n`. */
export function benchCall(i: number, n: number): CallState {
  const startedAt = DAY_START + Math.floor((i * 86_400_000) / n);
  const talkS = (i * 37) % 900;
  const kind = i % 10;
  const destination = `+1212555${String(i % 10_000).padStart(4, '0')}`;
  const matter = i % MATTERS;
  const base = {
    callSid: `CA${i.toString(16).padStart(32, '0')}`,
    account: ACCOUNT,
    direction: 'outbound' as const,
    user: `client:user${i % 500}`,
    caller: `client:user${i % 500}`,
    group: 'staff',
    destination,
    destinationClass: 'national' as const,
    entryPoint: 'bench.sip.twilio.com',
    maxAttempts: 3,
    validate: true,
    proceedAfterMaxAttempts: false,
    minLevel: 0,
    dial: { target: { kind: 'number' as const, number: destination }, callerId: '+12125550100' },
    phase: 'ended' as const,
    startedAt: new Date(startedAt).toISOString(),
    dialCompleted: true,
    statusReceived: true,
    lastActions: [{ type: 'dial' as const, target: { kind: 'number' as const, number: destination }, callerId: '+12125550100' }],
  };
  const answered = talkS > 0 && kind !== 9;
  const ended = {
    endedAt: new Date(startedAt + (talkS + 12) * 1000).toISOString(),
    durationS: talkS + 12,
    talkS: answered ? talkS : 0,
    outcome: answered ? ('completed' as const) : kind === 9 ? ('blocked' as const) : ('no-answer' as const),
  };
  if (kind <= 5) {
    return {
      ...base,
      ...ended,
      treatment: 'required',
      step: 1,
      attempts: 1,
      codeStatus: 'valid',
      code: String(10_000 + matter),
      codeDescription: `Client ${matter} - matter ${matter * 7}`,
      codeKind: 'account',
    };
  }
  if (kind === 6) {
    return {
      ...base,
      ...ended,
      treatment: 'authorized',
      step: 1,
      attempts: 1,
      codeStatus: 'valid',
      codeRef: (0xa0000000 + (i % 50)).toString(16),
      codeDescription: `Authorized caller ${i % 50}`,
      codeKind: 'authorization',
    };
  }
  if (kind === 7) return { ...base, ...ended, treatment: 'free', step: 0, attempts: 0, codeStatus: 'none' };
  if (kind === 8) return { ...base, ...ended, treatment: 'optional', step: 1, attempts: 1, codeStatus: 'skipped' };
  return { ...base, ...ended, treatment: 'required', step: 3, attempts: 3, codeStatus: 'invalid' };
}

/** The `n` calls as the voice function stores them once they have ended. */
export function* usageItems(n: number): Generator<Record<string, AttributeValue>> {
  const now = new Date('2026-06-16T05:00:00.000Z');
  for (let i = 0; i < n; i++) yield callItem(benchCall(i, n), { timeZone: TIME_ZONE, now, revision: 4 });
}
