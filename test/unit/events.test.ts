/**
 * Call-record events (docs/events.md): when a record is complete, the event's JSON, its id and
 * signature; in AWS, what a stream write means, and the webhook delivery's retries.
 */
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { toItem } from '../../functions/adapters/dynamodb/attributes.ts';
import type { UsageRecord } from '../../functions/core/call-state.ts';
import { callRecordEvent, completedBy, isComplete, signEvent, verifyEvent, type CallRecordEvent } from '../../functions/core/events.ts';
import { parseSettings } from '../../functions/core/settings.ts';
import { makeDeliverHandler, retryDelaySeconds } from '../../functions/handlers/events-deliver.ts';
import { changesOf } from '../../functions/handlers/events-publish.ts';
import { eventKindOf, publishChanges } from '../../functions/services/events.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { testCall } from '../support/call-fixtures.ts';
import { testSettings } from '../support/settings.ts';

const STARTED = '2026-12-04T15:00:00.000Z';
const dialled: UsageRecord = testCall({
  callSid: `CA${'1'.repeat(32)}`,
  dial: { target: { kind: 'number', number: '+442079460018' } },
  phase: 'dialling',
  startedAt: STARTED,
  dialCompleted: false,
  statusReceived: false,
  lastActions: [{ type: 'dial', target: { kind: 'number', number: '+442079460018' } }],
});
const dialResult: UsageRecord = {
  ...dialled,
  phase: 'ended',
  dialCompleted: true,
  outcome: 'completed',
  talkS: 42,
  endedAt: '2026-12-04T15:01:00.000Z',
  lastActions: [{ type: 'hangup' }],
};
const complete: UsageRecord = { ...dialResult, statusReceived: true, durationS: 60 };
const NY = 'America/New_York';

describe('call-record events', () => {
  it('counts a record complete once the call ended and both closing callbacks are in, in either order', () => {
    expect(isComplete(dialled)).toBe(false);
    expect(isComplete(dialResult)).toBe(false);
    const statusFirst: UsageRecord = { ...dialled, phase: 'ended', statusReceived: true, outcome: 'completed', durationS: 60 };
    expect(isComplete(statusFirst)).toBe(false);
    expect(completedBy(dialResult, complete)).toBe(true);
    expect(completedBy(statusFirst, complete)).toBe(true);
    expect(completedBy(complete, { ...complete, talkS: 43 })).toBe(false);
    const abandoned: UsageRecord = {
      ...dialled,
      phase: 'ended',
      outcome: 'abandoned',
      statusReceived: true,
      lastActions: [{ type: 'gather', prompt: 'x', step: 1, timeoutSeconds: 5 }],
    };
    expect(isComplete(abandoned)).toBe(true);
  });

  it("carries the usage file's fields, numbers as numbers and empty as null, under an id that stays the same", () => {
    const event = callRecordEvent(complete, 'completed', NY, new Date('2026-12-04T15:01:01Z'));
    expect(event).toMatchObject({ id: `${complete.callSid}.completed`, source: 'tollgate', 'detail-type': 'Call completed', account: 'acme' });
    expect(event.detail).toMatchObject({
      call_sid: complete.callSid,
      started_at: '2026-12-04T10:00:00-05:00',
      talk_s: 42,
      duration_s: 60,
      attempts: 1,
      code: '0042',
      entry_point: null,
      tagged_by: null,
    });
    expect(callRecordEvent(complete, 'completed', NY, new Date()).id).toBe(event.id);
    const retag = callRecordEvent({ ...complete, code: '1001', codeStatus: 'tagged', taggedBy: 'ann', taggedAt: '2026-12-05T09:00:00.000Z' }, 'retagged', NY, new Date());
    expect(retag.id).toBe(`${complete.callSid}.retagged.2026-12-05T09:00:00.000Z`);
  });

  it('signs t.body with the secret, and a receiver refuses a changed body, another secret or an old signature', () => {
    const body = '{"id":"x"}';
    const header = signEvent(body, 'secret', 1_800_000_000);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyEvent(body, header, 'secret', 1_800_000_010)).toBe(true);
    expect(verifyEvent(`${body} `, header, 'secret', 1_800_000_010)).toBe(false);
    expect(verifyEvent(body, header, 'other', 1_800_000_010)).toBe(false);
    expect(verifyEvent(body, header, 'secret', 1_800_000_000 + 301)).toBe(false);
  });

  it('takes https webhook URLs, and http only to this machine', () => {
    const base = { account: 'acme', twilioAccountSids: [`AC${'1'.repeat(32)}`], homeCountry: 'US', timeZone: NY };
    expect(parseSettings({ ...base, webhooks: ['https://billing.example.com/t', 'http://127.0.0.1:9000/t'] }).ok).toBe(true);
    expect(parseSettings({ ...base, webhooks: ['http://billing.example.com/t'] }).ok).toBe(false);
    expect(parseSettings({ ...base, webhooks: ['not a url'] }).ok).toBe(false);
  });
});

describe('publishing from the calls table stream (AWS)', () => {
  it('tells a completion and a retag from every other write', () => {
    expect(eventKindOf({ before: dialled, after: dialResult })).toBeUndefined();
    expect(eventKindOf({ before: dialResult, after: complete })).toBe('completed');
    const tagged = { ...complete, code: '1001', codeStatus: 'tagged' as const, taggedBy: 'ann', taggedAt: '2026-12-05T09:00:00.000Z' };
    expect(eventKindOf({ before: complete, after: tagged })).toBe('retagged');
    expect(eventKindOf({ before: tagged, after: { ...tagged } })).toBeUndefined();
    expect(eventKindOf({ before: complete })).toBeUndefined();
  });

  it('reads call images from the stream, leaving lockout records out, and publishes with the account settings', async () => {
    const image = (r: UsageRecord) => toItem({ pk: r.callSid, ...r, revision: 3 }) as never;
    const stream = {
      Records: [
        { dynamodb: { OldImage: image(dialResult), NewImage: image(complete) } },
        { dynamodb: { NewImage: toItem({ pk: 'LOCK#acme#client:alice', windowStart: STARTED, failures: 2 }) as never } },
      ],
    };
    const changes = changesOf(stream as never);
    expect(changes).toHaveLength(1);
    const published: { event: CallRecordEvent; webhooks: readonly string[] }[] = [];
    const settings = testSettings({ webhooks: ['https://billing.example.com/t'] });
    const n = await publishChanges(
      {
        accounts: { getSettings: async () => settings },
        events: { publish: async (event, webhooks) => void published.push({ event, webhooks }) },
        now: () => new Date(),
        log: silentLogger,
      },
      changes,
    );
    expect(n).toBe(1);
    expect(published[0]).toMatchObject({ event: { id: `${complete.callSid}.completed`, detail: { code: '0042' } }, webhooks: ['https://billing.example.com/t'] });
  });
});

describe('webhook delivery (AWS)', () => {
  const event = callRecordEvent(complete, 'completed', NY, new Date());
  const sqs = (receives: number): SQSEvent =>
    ({
      Records: [
        { messageId: 'm1', receiptHandle: 'r1', body: JSON.stringify({ url: 'https://billing.example.com/t', event }), attributes: { ApproximateReceiveCount: String(receives) } },
      ],
    }) as never;

  it('waits longer after each failed try, from a minute to an hour', () => {
    expect([1, 2, 3, 7, 8, 30].map(retryDelaySeconds)).toEqual([60, 120, 240, 3600, 3600, 3600]);
  });

  it('delivers with the account secret, and puts a failed delivery back for later', async () => {
    const posts: string[] = [];
    const delays: number[] = [];
    let fail = true;
    const deliver = makeDeliverHandler({
      secretOf: async (account) => (account === 'acme' ? 'acme-secret' : undefined),
      post: async (url, e, secret) => {
        posts.push(`${url} ${e.id} ${secret}`);
        if (fail) throw new Error('answered 503');
      },
      delay: async (_handle, seconds) => void delays.push(seconds),
      log: silentLogger,
    });
    expect(await deliver(sqs(3))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(delays).toEqual([240]);
    fail = false;
    expect(await deliver(sqs(4))).toEqual({ batchItemFailures: [] });
    expect(posts).toEqual([`https://billing.example.com/t ${event.id} acme-secret`, `https://billing.example.com/t ${event.id} acme-secret`]);
  });
});
