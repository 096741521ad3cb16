/**
 * The bucket's side of the one door (docs/data-model.md, "Imports"): a change is a file put
 * under `imports/<account>/`, the import function answers with a report under
 * `results/<account>/`, and the reports are the audit trail. The CLI and the console both
 * find an upload's report here.
 *
 * A report is matched to its upload by the key and the version the upload made (AWS: the
 * bucket is versioned). s3rver keeps no versions, so locally a `startedAt` no earlier than
 * the upload began ties the two together instead; the stack and its clients share a clock.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BucketObject, ChangeDoor, UploadTicket } from '../../core/ports.ts';
import { ACTOR_METADATA, reportTimestamp, type ImportReport } from '../../core/reports.ts';
import { putJson } from './client.ts';

/** A report's key ends in a UTC timestamp to the second: list from a little before the upload. */
const LOCAL_MARGIN_MS = 1_000;
/** AWS: the Lambda's clock and the uploader's may differ; the version tells the report apart. */
const AWS_CLOCK_SKEW_MS = 5 * 60_000;
/** How long a download link lasts. */
const DOWNLOAD_LINK_SECONDS = 300;
/** Reports read at once when listing the audit trail. */
const READ_AHEAD = 8;

export function s3ChangeDoor(s3: S3Client, bucket: string): ChangeDoor {
  return {
    async submit(key, body, meta) {
      const uploadedAt = new Date().toISOString();
      const out = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: meta.contentType, Metadata: { [ACTOR_METADATA]: encodeURIComponent(meta.actor) } }),
      );
      return out.VersionId === undefined ? { uploadedAt } : { uploadedAt, versionId: out.VersionId };
    },
    report: async (ticket) => (await findReport(s3, bucket, ticket))?.report,
    reports: (account) => listReports(s3, bucket, account),
    writeReport: (key, report) => putJson(s3, bucket, key, report),
    list: (prefix) => listObjects(s3, bucket, prefix),
    downloadUrl: (key, fileName) =>
      getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: `attachment; filename="${fileName.replace(/[^\w.-]/g, '_')}"` }), {
        expiresIn: DOWNLOAD_LINK_SECONDS,
      }),
  };
}

/** The report of one upload and its key, or undefined while the import function has not written it. */
export async function findReport(s3: S3Client, bucket: string, ticket: UploadTicket): Promise<{ readonly report: ImportReport; readonly key: string } | undefined> {
  const margin = ticket.versionId === undefined ? LOCAL_MARGIN_MS : AWS_CLOCK_SKEW_MS;
  const startAfter = `${ticket.reportPrefix}${reportTimestamp(new Date(Date.parse(ticket.uploadedAt) - margin))}`;
  const uploadedAt = Date.parse(ticket.uploadedAt);
  let token: string | undefined;
  do {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: ticket.reportPrefix, ...(token === undefined ? { StartAfter: startAfter } : { ContinuationToken: token }) }),
    );
    for (const object of listed.Contents ?? []) {
      if (object.Key === undefined) continue;
      const report = await readReport(s3, bucket, object.Key);
      if (report === undefined || report.file !== ticket.key) continue;
      const matches = ticket.versionId !== undefined ? report.versionId === ticket.versionId : Date.parse(report.startedAt) >= uploadedAt;
      if (matches) return { report, key: object.Key };
    }
    token = listed.IsTruncated === true ? listed.NextContinuationToken : undefined;
  } while (token !== undefined);
  return undefined;
}

/** One report; undefined when it is gone between a listing and the read, or still half written. */
async function readReport(s3: S3Client, bucket: string, key: string): Promise<ImportReport | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await out.Body?.transformToString('utf8')) ?? '') as ImportReport;
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Every report of the account, read a few at a time. A file under `results/` that is not JSON is an error that names it. */
export async function listReports(s3: S3Client, bucket: string, account: string): Promise<ImportReport[]> {
  const keys = (await listObjects(s3, bucket, `results/${account}/`)).map((o) => o.key).filter((k) => k.endsWith('.json'));
  const reports: ImportReport[] = [];
  for (let i = 0; i < keys.length; i += READ_AHEAD) {
    const batch = await Promise.all(
      keys.slice(i, i + READ_AHEAD).map(async (Key) => {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
        try {
          return JSON.parse((await out.Body?.transformToString('utf8')) ?? '') as ImportReport;
        } catch {
          throw new Error(`s3://${bucket}/${Key} is not a report (not JSON): was it written by hand?`);
        }
      }),
    );
    reports.push(...batch);
  }
  return reports;
}

/** Every object under a prefix, in key order. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<BucketObject[]> {
  const objects: BucketObject[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of out.Contents ?? []) {
      if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: (o.LastModified ?? new Date(0)).toISOString() });
    }
    token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}
