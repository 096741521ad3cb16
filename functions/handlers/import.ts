/**
 * The import function: S3 ObjectCreated notifications for `imports/` arrive through SQS
 * (AWS) or straight from s3rver (local stack); each object version is imported once.
 *
 * SQS: a message whose import throws (storage or S3 unavailable) is reported as a batch
 * item failure, so SQS redelivers it and, after the last try, dead-letters it. A file that is
 * wrong is not a failure: it gets a `rejected` report.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makeDynamoClient } from '../adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../adapters/dynamodb/stores.ts';
import { makeS3Client, putJson, readObject } from '../adapters/s3/client.ts';
import { uploadStream } from '../adapters/s3/upload.ts';
import { makeSecretReader } from '../adapters/secrets.ts';
import { secretBindings } from '../adapters/twilio/tokens.ts';
import { bucketConfig, importQueueUrl, pepperSecretArn, storageConfig, twilioSecretArn, type Env } from '../config.ts';
import { ACTOR_METADATA, importObject, type ImporterDeps, type ImportPaused, type ImportReport, type ImportRun, type ObjectRef } from '../services/importer.ts';
import type { Logger } from '../core/ports.ts';
import { deployedFunction } from './lambda.ts';

/** The parts of an S3 event notification record the import reads. */
export interface S3EventRecord {
  readonly eventName?: string;
  /** Who uploaded the object (AWS: `AWS:AIDA…`, the IAM principal). */
  readonly userIdentity?: { readonly principalId?: string };
  readonly s3?: {
    readonly bucket?: { readonly name?: string };
    readonly object?: { readonly key?: string; readonly versionId?: string; readonly eTag?: string; readonly size?: number; readonly sequencer?: string };
  };
}

export interface S3Event {
  readonly Records?: readonly S3EventRecord[];
  /** `s3:TestEvent`, sent once when a notification is configured. */
  readonly Event?: string;
}

export interface SqsEvent {
  readonly Records: readonly { readonly messageId: string; readonly body: string }[];
}

export interface SqsBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/**
 * The objects an S3 notification names. Keys arrive URL-encoded with `+` for a space, as S3
 * sends them; only ObjectCreated events count.
 */
export function objectRefs(event: S3Event): ObjectRef[] {
  const refs: ObjectRef[] = [];
  for (const record of event.Records ?? []) {
    if (!record.eventName?.startsWith('ObjectCreated:')) continue;
    const raw = record.s3?.object?.key;
    if (raw === undefined) continue;
    const obj = record.s3?.object;
    refs.push({
      key: decodeS3Key(raw),
      ...(obj?.versionId ? { versionId: obj.versionId } : {}),
      ...(obj?.eTag ? { eTag: obj.eTag } : {}),
      ...(obj?.size === undefined ? {} : { size: obj.size }),
      // A string in S3's events; s3rver's is a number (Date.now()).
      ...(obj?.sequencer ? { sequencer: String(obj.sequencer) } : {}),
      ...(record.userIdentity?.principalId ? { principal: record.userIdentity.principalId } : {}),
    });
  }
  return refs;
}

export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/** How a delivery may stop early, and who hears of an import that paused. */
export interface S3EventRun extends ImportRun {
  readonly onPaused?: (paused: ImportPaused) => void;
}

/** Import every object an S3 event names, in order; the reports of those that finished. */
export async function handleS3Event(deps: ImporterDeps, event: S3Event, run: S3EventRun = {}): Promise<ImportReport[]> {
  const reports: ImportReport[] = [];
  for (const ref of objectRefs(event)) {
    const result = await importObject(deps, ref, run);
    if (result?.status === 'paused') run.onPaused?.(result);
    else if (result !== undefined) reports.push(result);
  }
  return reports;
}

/**
 * Stop applying when less than this is left of the invocation: the chunk under way finishes
 * (2,000 rows, about a second) and the checkpoint is saved; a replace file's sweep and the
 * redacted copy of a file of a million rows take well under this once begun.
 */
export const IMPORT_TIME_RESERVE_MS = 120_000;

/** Sends a delivery again, to be taken up by a new invocation (AWS: the import queue). */
export type ContinueLater = (body: string) => Promise<void>;

/** The bits of the Lambda context an import reads. */
export interface ImportContext {
  getRemainingTimeInMillis?(): number;
}

/**
 * The SQS-triggered handler, with partial batch failure reporting by Powertools' batch
 * processor: records one after another (imports of one account must apply in order), and a
 * batch that fails whole is reported message by message rather than thrown, so SQS retries
 * each on its own schedule. An import that runs short of time pauses at a checkpoint and its
 * message is sent again (`continueLater`), so a new invocation carries on from there.
 */
export function makeImportHandler(
  deps: ImporterDeps,
  continueLater?: ContinueLater,
  reserveMs = IMPORT_TIME_RESERVE_MS,
): (event: SqsEvent, context?: ImportContext) => Promise<SqsBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event, context) => {
    const remaining = context?.getRemainingTimeInMillis?.bind(context);
    const shouldPause = continueLater === undefined || remaining === undefined ? undefined : () => remaining() < reserveMs;
    const importMessage = async (message: SqsEvent['Records'][number]): Promise<void> => {
      let paused = false;
      try {
        await handleS3Event(deps, JSON.parse(message.body) as S3Event, { ...(shouldPause === undefined ? {} : { shouldPause }), onPaused: () => void (paused = true) });
        if (paused) await continueLater?.(message.body);
      } catch (err) {
        deps.log.error('import failed; the message will be retried', { messageId: message.messageId, error: err });
        throw err;
      }
    };
    const response = await processPartialResponse({ Records: [...event.Records] }, importMessage, processor, { processInParallel: false, throwOnFullBatchFailure: false });
    return { batchItemFailures: response.batchItemFailures.map((f) => ({ itemIdentifier: String(f.itemIdentifier) })) };
  };
}

/** The metadata that marks a redacted copy the import wrote (`x-amz-meta-tollgate-redacted`). */
const REDACTED_MARK = 'tollgate-redacted';

/**
 * Importer dependencies over an S3 bucket. In a versioned bucket (AWS) the version that held
 * authorization digits is deleted by its version ID, which deletes it for good; in an
 * unversioned one (s3rver) the redacted copy overwrites it, and a rejected file is deleted
 * only while it is still the upload that was read (its ETag).
 */
export function s3Objects(s3: S3Client, bucket: string): ImporterDeps['objects'] {
  const pin = (ref: ObjectRef) => ({ ...(ref.versionId === undefined ? {} : { versionId: ref.versionId }), ...(ref.eTag === undefined ? {} : { eTag: ref.eTag }) });
  const remove = async (ref: ObjectRef): Promise<void> => {
    if (ref.versionId !== undefined) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: ref.key, VersionId: ref.versionId }));
      return;
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: ref.key })).catch(() => undefined);
    if (head !== undefined && (ref.eTag === undefined || unquote(head.ETag) === unquote(ref.eTag))) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: ref.key }));
  };
  return {
    read: (ref) => readObject(s3, bucket, ref.key, pin(ref)),
    writeReport: (key, report) => putJson(s3, bucket, key, report),
    async replaceRedacted(ref, lines) {
      await uploadStream(
        s3,
        { Bucket: bucket, Key: ref.key, ContentType: 'text/csv; charset=utf-8', Metadata: { [REDACTED_MARK]: ref.versionId ?? ref.eTag ?? 'unversioned' } },
        lines,
      );
      if (ref.versionId !== undefined) await remove(ref);
    },
    remove,
    async describe(ref) {
      const head = await s3
        .send(new HeadObjectCommand({ Bucket: bucket, Key: ref.key, ...(ref.versionId === undefined ? {} : { VersionId: ref.versionId }) }))
        .catch(() => undefined);
      // Unversioned, the key may hold another upload by now: its metadata is this event's only if the ETag is.
      if (head === undefined || (ref.versionId === undefined && ref.eTag !== undefined && unquote(head.ETag) !== unquote(ref.eTag))) return { redacted: false };
      const actor = head.Metadata?.[ACTOR_METADATA];
      return { redacted: head.Metadata?.[REDACTED_MARK] !== undefined, ...(actor === undefined ? {} : { actor: decodeActor(actor) }) };
    },
  };
}

function decodeActor(value: string): string {
  try {
    return decodeURIComponent(value)
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .slice(0, 100);
  } catch {
    return value.slice(0, 100);
  }
}

function unquote(eTag: string | undefined): string | undefined {
  return eTag?.replace(/^"|"$/g, '');
}

function awsDeps(env: Env, log: Logger): ImporterDeps {
  const storage = storageConfig(env);
  const { bucket, s3Endpoint } = bucketConfig(env);
  const pepperArn = pepperSecretArn(env);
  const secrets = new SecretsManagerClient({});
  const stores = makeDynamoStores({
    client: makeDynamoClient(storage.dynamodbEndpoint === undefined ? {} : { endpoint: storage.dynamodbEndpoint }),
    tables: storage.tables,
    // In AWS the operator binds SIDs to accounts in the Twilio token secret: settings may name
    // only the SIDs bound to their own account.
    sidBindings: secretBindings(secrets, twilioSecretArn(env)),
  });
  const readSecret = makeSecretReader(secrets);
  return {
    objects: s3Objects(makeS3Client(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }), bucket),
    accounts: stores.accounts,
    users: stores.users,
    codes: stores.codes,
    ledger: stores.ledger,
    pepper: () => readSecret(pepperArn),
    now: () => new Date(),
    log,
  };
}

/** The deployed import function: imports over AWS clients. */
/** An import's notification sent to the import queue again. */
export function sqsContinueLater(sqs: SQSClient, queueUrl: string): ContinueLater {
  return async (body) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  };
}

const deployed = deployedFunction<SqsEvent, SqsBatchResponse>('tollgate-import', (env, log) =>
  makeImportHandler(awsDeps(env, log), sqsContinueLater(new SQSClient({}), importQueueUrl(env))),
);
export const handler = deployed.handler;
export const deployedHandler = deployed.build;
