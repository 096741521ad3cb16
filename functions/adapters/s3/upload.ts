/**
 * A stream of bytes into the bucket as a multipart upload (lib-storage's `Upload`), through a
 * fixed amount of memory: at most `queueSize` parts of `partSize` bytes in flight, whatever
 * the file's size. A file smaller than one part goes up as one PutObject. The usage export and
 * the importer's redacted copies both write this way.
 */
import { Readable } from 'node:stream';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface UploadOptions {
  /** Bytes per part (S3's minimum is 5 MiB; 10,000 parts of it make 48 GiB). @default 5 MiB */
  readonly partSize?: number;
  /**
   * Parts uploaded at once. @default 2: the files are written at a few MB/s (the pace of the
   * Query pages or the CSV parse feeding them), far below what two uploads carry, and each part
   * in flight is held in memory.
   */
  readonly queueSize?: number;
}

export async function uploadStream(
  s3: S3Client,
  params: Omit<PutObjectCommandInput, 'Body'>,
  body: AsyncIterable<Uint8Array | string>,
  options: UploadOptions = {},
): Promise<void> {
  await new Upload({
    client: s3,
    params: { ...params, Body: Readable.from(body, { objectMode: false }) },
    partSize: options.partSize ?? 5 * 1024 * 1024,
    queueSize: options.queueSize ?? 2,
    // A failed upload leaves nothing behind; the previous version of the object stays as it was.
    leavePartsOnError: false,
  }).done();
}
