/**
 * A call record as the tests share it: an outbound international call from client:alice that
 * was prompted, dialled on account code 0042 and completed. Tests override what they need.
 */
import type { UsageRecord } from '../../functions/core/call-state.ts';

export function testCall(extra: Partial<UsageRecord> = {}): UsageRecord {
  return {
    callSid: 'CA0123456789abcdef0123456789abcdef',
    account: 'acme',
    direction: 'outbound',
    user: 'client:alice',
    caller: 'client:alice',
    destination: '+442079460018',
    destinationClass: 'international',
    treatment: 'required',
    maxAttempts: 3,
    validate: true,
    proceedAfterMaxAttempts: false,
    minLevel: 0,
    phase: 'ended',
    step: 1,
    attempts: 1,
    codeStatus: 'valid',
    code: '0042',
    codeDescription: 'Smith v Jones',
    codeKind: 'account',
    startedAt: '2026-12-04T15:00:00.000Z',
    dialCompleted: true,
    statusReceived: true,
    lastActions: [],
    ...extra,
  };
}
