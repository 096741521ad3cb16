/**
 * Publishing call-record events in AWS (docs/events.md): the calls table's stream gives each
 * write of a call as its images before and after; a write that completed the record publishes
 * `Call completed`, a later one that retagged it `Call retagged`. The voice function does none
 * of this: it only writes the call, and the stream carries the rest, so publishing costs a call
 * neither a request nor a millisecond.
 */
import type { CallState, UsageRecord } from '../core/call-state.ts';
import { callRecordEvent, completedBy, isComplete, type CallRecordEventKind } from '../core/events.ts';
import type { AccountStore, CallRecordEvents, Logger } from '../core/ports.ts';
import type { Settings } from '../core/settings.ts';

/** One write of a call: its record before (absent for the first) and after (absent when it expired). */
export interface CallChange {
  readonly before?: UsageRecord;
  readonly after?: UsageRecord;
}

export interface PublishDeps {
  readonly accounts: Pick<AccountStore, 'getSettings'>;
  readonly events: CallRecordEvents;
  readonly now: () => Date;
  readonly log: Logger;
}

/** What a write means for integrators: nothing, the record completed, or it was retagged. */
export function eventKindOf(change: CallChange): CallRecordEventKind | undefined {
  const { before, after } = change;
  if (after === undefined) return undefined;
  if (completedBy(before, after)) return 'completed';
  if (before !== undefined && isComplete(before as CallState) && isComplete(after) && after.taggedAt !== undefined && after.taggedAt !== before.taggedAt) return 'retagged';
  return undefined;
}

/** Publish the events of a batch of writes, in order; a failure throws, so the stream retries the batch (receivers deduplicate on the id). */
export async function publishChanges(deps: PublishDeps, changes: readonly CallChange[]): Promise<number> {
  const settings = new Map<string, Settings | undefined>();
  let published = 0;
  for (const change of changes) {
    const kind = eventKindOf(change);
    const record = change.after;
    if (kind === undefined || record === undefined) continue;
    if (!settings.has(record.account)) settings.set(record.account, await deps.accounts.getSettings(record.account));
    const account = settings.get(record.account);
    if (account === undefined) {
      deps.log.warn('call-record event skipped: the account has no settings', { account: record.account, callSid: record.callSid });
      continue;
    }
    await deps.events.publish(callRecordEvent(record, kind, account.timeZone, deps.now()), account.webhooks);
    published++;
  }
  return published;
}
