/**
 * Where alerts go: an SNS topic in AWS (e-mail, chat or a pager subscribe to it), a log line
 * and a file locally. An alert names the account, user, caller ID, number and time — never a
 * code.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { appendFile } from 'node:fs/promises';
import type { Alert, AlertSink } from '../services/voice.ts';
import type { Logger } from '../services/logger.ts';

function subject(alert: Alert): string {
  const who = alert.account === undefined ? 'unknown account' : `account ${alert.account}`;
  return alert.kind === 'emergency' ? `Emergency call to ${alert.destination} (${who})` : `Code entry locked for ${alert.user} (${who})`;
}

export function snsAlerts(client: SNSClient, topicArn: string, log: Logger): AlertSink {
  return {
    async raise(alert) {
      log.warn(alert.kind === 'emergency' ? 'emergency call' : 'user locked out', { alert });
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          // SNS limits subjects to 100 characters.
          Subject: subject(alert).slice(0, 100),
          Message: JSON.stringify(alert, null, 2),
          MessageAttributes: { kind: { DataType: 'String', StringValue: alert.kind } },
        }),
      );
    },
  };
}

/** The local stack: the log and one JSON line per alert in `TOLLGATE_HOME/alerts.log`. */
export function fileAlerts(path: string, log: Logger): AlertSink {
  return {
    async raise(alert) {
      log.warn(alert.kind === 'emergency' ? 'emergency call' : 'user locked out', { alert });
      await appendFile(path, `${JSON.stringify({ subject: subject(alert), ...alert })}\n`, { mode: 0o600 });
    },
  };
}
