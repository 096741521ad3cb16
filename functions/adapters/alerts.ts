/**
 * Where alerts go: an SNS topic in AWS (e-mail, chat or a pager subscribe to it), a log line
 * and a file locally. An alert names the account, user, caller ID, number and time — never a
 * code.
 *
 * The SNS SDK is imported on the first alert, not with this module: alerts are off the voice
 * function's hot path, and loading `@aws-sdk/client-sns` at start-up cost the cold start
 * ~45 ms with the runtime's SDK (bench/voice.bench.ts).
 */
import type { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { appendFile } from 'node:fs/promises';
import type { Alert, AlertSink, Logger } from '../core/ports.ts';

/** One line: what happened, to whom; UNVERIFIED first when Twilio's signature did not check. */
export function subject(alert: Alert): string {
  const who = alert.account === undefined ? 'unknown account' : `account ${alert.account}`;
  const folded = alert.folded === undefined ? '' : ` (+${alert.folded} more)`;
  const text =
    alert.kind === 'emergency'
      ? `Emergency call to ${alert.destination} (${who})${folded}`
      : alert.kind === 'throttle'
        ? `Code entry locked for callers not in the users list: too many failed codes (${who})`
        : `Code entry locked for ${alert.user} (${who})`;
  // Never a line break in a subject, whatever a value carried.
  return `${alert.verified ? '' : 'UNVERIFIED: '}${text}`.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

function logMessage(alert: Alert): string {
  return alert.kind === 'emergency' ? 'emergency call' : alert.kind === 'throttle' ? 'account-wide code throttle' : 'user locked out';
}

/**
 * Alerts published to `topicArn`. Without `client`, an `SNSClient` is made on the first alert
 * (module and client both loaded then, once per container).
 */
export function snsAlerts(topicArn: string, log: Logger, client?: SNSClient): AlertSink {
  let sns: Promise<{ sender: SNSClient; Publish: typeof PublishCommand }> | undefined;
  const load = () =>
    (sns ??= import('@aws-sdk/client-sns').then(
      (m) => ({ sender: client ?? new m.SNSClient({}), Publish: m.PublishCommand }),
      (err: unknown) => {
        // A failed load is not cached: the next alert tries again.
        sns = undefined;
        throw err;
      },
    ));
  return {
    async raise(alert) {
      log.warn(logMessage(alert), { alert });
      const { sender, Publish } = await load();
      await sender.send(
        new Publish({
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
      log.warn(logMessage(alert), { alert });
      await appendFile(path, `${JSON.stringify({ subject: subject(alert), ...alert })}\n`, { mode: 0o600 });
    },
  };
}
