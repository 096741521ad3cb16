/**
 * After-call tagging with its I/O: read the record, look the account code up, decide with the
 * pure {@link tagRecord}, write back naming the revision read — so a webhook that lands in
 * between (a late status callback) is never overwritten: the write loses, the record is read
 * again and the tag decided again — then tell the export ledger the day changed.
 */
import { accountCodeKey } from '../adapters/code-key.ts';
import type { AccountStore, CallRecordEvents, CallStore, CodeStore, ExportLedger } from '../core/ports.ts';
import { callRecordEvent, isComplete } from '../core/events.ts';
import { tagRecord, type TagRefusal } from '../core/tagging.ts';
import { localDate } from '../core/time.ts';
import type { UsageRecord } from '../core/usage.ts';

export interface TaggingDeps {
  readonly calls: CallStore;
  readonly codes: Pick<CodeStore, 'getCodes'>;
  readonly accounts: Pick<AccountStore, 'getSettings'>;
  readonly exports: Pick<ExportLedger, 'markChanged'>;
  readonly now: () => Date;
  /** Where the retagged record is published (docs/events.md); unset: not published from here. */
  readonly events?: CallRecordEvents;
}

export type TagCallResult =
  | {
      readonly ok: true;
      readonly record: UsageRecord;
      readonly previous: UsageRecord;
      /** False when the call already carried the code: nothing was written. */
      readonly changed: boolean;
      /** The local day of the call: the usage file that changes. */
      readonly day: string;
    }
  | { readonly ok: false; readonly reason: TagRefusal | 'no-call' | 'no-settings'; readonly message: string };

/** Revision conflicts tolerated before giving up (each means another write landed first). */
const MAX_TRIES = 5;

export async function tagCall(deps: TaggingDeps, callSid: string, digits: string, by: string): Promise<TagCallResult> {
  for (let attempt = 1; ; attempt++) {
    const stored = await deps.calls.get(callSid);
    if (stored === undefined) return { ok: false, reason: 'no-call', message: `there is no call ${callSid} (or its record has expired)` };
    const previous = stored.state as UsageRecord;
    const settings = await deps.accounts.getSettings(previous.account);
    if (settings === undefined) return { ok: false, reason: 'no-settings', message: `call ${callSid} belongs to account "${previous.account}", which has no settings` };
    // Only the account-code key: authorization codes are never looked up for a tag.
    const key = /^[0-9]{1,14}$/.test(digits) ? accountCodeKey(digits) : undefined;
    const lookup = key === undefined ? undefined : (await deps.codes.getCodes(previous.account, [key])).get(key);
    const now = deps.now();
    const decision = tagRecord(previous, digits, lookup, { settings, by, now });
    if (!decision.ok) return decision;
    const day = localDate(new Date(previous.startedAt), settings.timeZone);
    if (!decision.changed) return { ok: true, record: previous, previous, changed: false, day };
    const revision = await deps.calls.put(decision.state, { expectedRevision: stored.revision, timeZone: settings.timeZone });
    if (revision !== undefined) {
      await deps.exports.markChanged(previous.account, day, now.toISOString());
      // Queued, not delivered here: a slow receiver never holds up the tag.
      if (isComplete(decision.state)) await deps.events?.publish(callRecordEvent(decision.state, 'retagged', settings.timeZone, now), settings.webhooks);
      return { ok: true, record: decision.state, previous, changed: true, day };
    }
    if (attempt >= MAX_TRIES) throw new Error(`call ${callSid} kept changing while it was being tagged (${MAX_TRIES} tries): try again`);
  }
}
