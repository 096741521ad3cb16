/**
 * Usage files into the bucket: a stream of bytes in, a multipart upload out (lib-storage's
 * `Upload`), so a file of any size passes through a fixed amount of memory — at most
 * `queueSize` parts of `partSize` bytes in flight. Files smaller than one part go up as one
 * PutObject.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ExportFiles } from '../../core/ports.ts';

export interface ExportFilesOptions {
  /** Bytes per part (S3's minimum is 5 MiB). @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploaded at once. @default 4 */
  readonly queueSize?: number;
}

export function s3ExportFiles(s3: S3Client, bucket: string, options: ExportFilesOptions = {}): ExportFiles {
  return {
    async put(key, body, meta) {
      const upload = new Upload({
        client: s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: Readable.from(body, { objectMode: false }),
          ContentType: meta.contentType,
          // A presigned link saves the file under its own name rather than the key's path.
          ContentDisposition: `attachment; filename="${meta.fileName}"`,
        },
        partSize: options.partSize ?? 8 * 1024 * 1024,
        queueSize: options.queueSize ?? 4,
        // A failed upload leaves nothing behind; the previous version of the file stays as it was.
        leavePartsOnError: false,
      });
      await upload.done();
    },
  };
}
