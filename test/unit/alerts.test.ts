/**
 * The SNS alert sink: the SDK is loaded on the first alert (bench/voice.bench.ts measured what
 * loading it at start-up cost the voice function's cold start), and what it publishes.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { snsAlerts, subject } from '../../functions/adapters/alerts.ts';
import type { Alert } from '../../functions/core/ports.ts';
import { silentLogger } from '../../functions/services/logger.ts';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:tollgate-alerts';
const alert: Alert = {
  kind: 'emergency',
  account: 'demo',
  user: 'client:alice',
  callerId: '+12125550101',
  destination: '911',
  callSid: `CA${'1'.repeat(32)}`,
  at: '2026-11-21T12:00:00.000Z',
  verified: true,
};

function fakeClient(fail = false) {
  const sent: unknown[] = [];
  const client = {
    async send(command: unknown) {
      sent.push(command);
      if (fail) throw new Error('SNS is down');
      return {};
    },
  } as unknown as SNSClient;
  return { client, sent };
}

describe('snsAlerts', () => {
  it('publishes each alert to the topic, with a subject and the alert as the message', async () => {
    const { client, sent } = fakeClient();
    const sink = snsAlerts(TOPIC, silentLogger, client);
    await sink.raise(alert);
    await sink.raise({ ...alert, kind: 'lockout', destination: '+442079460018' });
    expect(sent).toHaveLength(2);
    const [first, second] = sent as PublishCommand[];
    expect(first).toBeInstanceOf(PublishCommand);
    expect(first?.input).toEqual({
      TopicArn: TOPIC,
      Subject: 'Emergency call to 911 (account demo)',
      Message: JSON.stringify(alert, null, 2),
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'emergency' } },
    });
    expect(second?.input.Subject).toBe('Code entry locked for client:alice (account demo)');
  });

  it('keeps subjects within the 100 characters SNS allows', async () => {
    const { client, sent } = fakeClient();
    await snsAlerts(TOPIC, silentLogger, client).raise({ ...alert, account: 'a'.repeat(200) });
    expect((sent[0] as PublishCommand).input.Subject).toHaveLength(100);
  });

  it('reports a failed publish to the caller (the voice function logs it; the call goes on)', async () => {
    const { client } = fakeClient(true);
    await expect(snsAlerts(TOPIC, silentLogger, client).raise(alert)).rejects.toThrow('SNS is down');
  });
});

describe('the subject of an alert', () => {
  it('starts UNVERIFIED for an alert Twilio did not sign, says what was folded in, and never breaks a line', () => {
    expect(subject(alert)).toBe('Emergency call to 911 (account demo)');
    expect(subject({ ...alert, verified: false, account: undefined, folded: 41 })).toBe('UNVERIFIED: Emergency call to 911 (unknown account) (+41 more)');
    expect(subject({ ...alert, kind: 'throttle' })).toMatch(/^Code entry locked for callers not in the users list/);
    expect(subject({ ...alert, verified: false, destination: '911\r\nBcc: x@y' })).not.toMatch(/[\r\n]/);
  });
});
