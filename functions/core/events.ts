/**
 * Call-record events (docs/events.md): a usage record is published when it is complete, and
 * again when it is retagged, as EventBridge events of `source` `tollgate` and, to the URLs in
 * `webhooks`, as the same JSON signed with the account's webhook secret. Pure: the envelope, its
 * id (the same for a redelivery, for deduplication), and the signature recipe.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CallState, UsageRecord } from './call-state.ts';
import { USAGE_COLUMNS, usageValues } from './usage.ts';

export const EVENT_SOURCE = 'tollgate';
export const EVENT_DETAIL_TYPES = { completed: 'Call completed', retagged: 'Call retagged' } as const;
export type CallRecordEventKind = keyof typeof EVENT_DETAIL_TYPES;
/** The header a webhook's signature travels in. */
export const SIGNATURE_HEADER = 'Tollgate-Signature';
/** A receiver should refuse a signature older than this (replay). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** A usage record's fields as the usage file's columns; numbers as numbers, empty as null; plus who tagged it. */
export type CallRecordDetail = Readonly<Record<string, string | number | null>>;

export interface CallRecordEvent {
  /** The same for every delivery of this event: deduplicate on it. */
  readonly id: string;
  readonly source: typeof EVENT_SOURCE;
  readonly 'detail-type': (typeof EVENT_DETAIL_TYPES)[CallRecordEventKind];
  /** When the record completed or was retagged (ISO). */
  readonly time: string;
  readonly account: string;
  readonly detail: CallRecordDetail;
}

const NUMERIC = new Set(['duration_s', 'talk_s', 'attempts']);

/**
 * Complete: the call has ended and both of Twilio's closing callbacks are in (the dial result
 * when the call was dialled, and the status callback), so nothing more will change it but a retag.
 */
export function isComplete(state: CallState): boolean {
  const dialled = state.dial !== undefined && (state.dialCompleted || state.lastActions.some((a) => a.type === 'dial'));
  return state.phase === 'ended' && state.outcome !== undefined && state.statusReceived && (state.dialCompleted || !dialled);
}

/** The write that made the record complete: publish then. */
export function completedBy(before: CallState | undefined, after: CallState): boolean {
  return isComplete(after) && (before === undefined || !isComplete(before));
}

export function callRecordEvent(record: UsageRecord, kind: CallRecordEventKind, timeZone: string, at: Date): CallRecordEvent {
  const values = usageValues(record, timeZone);
  const detail: Record<string, string | number | null> = {};
  USAGE_COLUMNS.forEach((column, i) => {
    const v = values[i] ?? '';
    detail[column] = v === '' ? null : NUMERIC.has(column) ? Number(v) : v;
  });
  detail.tagged_by = record.taggedBy ?? null;
  detail.tagged_at = record.taggedAt ?? null;
  const id = kind === 'completed' ? `${record.callSid}.completed` : `${record.callSid}.retagged.${record.taggedAt ?? at.toISOString()}`;
  return { id, source: EVENT_SOURCE, 'detail-type': EVENT_DETAIL_TYPES[kind], time: at.toISOString(), account: record.account, detail };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`. */
export function signEvent(body: string, secret: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** The receiver's check: the recipe of docs/events.md, in code. */
export function verifyEvent(body: string, header: string, secret: string, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || typeof parts.v1 !== 'string') return false;
  const expected = Buffer.from(signEvent(body, secret, t).split('v1=')[1] ?? '', 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
