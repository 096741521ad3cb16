/**
 * Usage files into the bucket: a stream of bytes in, a multipart upload out (`upload.ts`), so a
 * file of any size passes through a fixed amount of memory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ExportFiles } from '../../core/ports.ts';
import { type UploadOptions, uploadStream } from './upload.ts';

export function s3ExportFiles(s3: S3Client, bucket: string, options: UploadOptions = {}): ExportFiles {
  return {
    async put(key, body, meta) {
      await uploadStream(
        s3,
        {
          Bucket: bucket,
          Key: key,
          ContentType: meta.contentType,
          // A presigned link saves the file under its own name rather than the key's path.
          ContentDisposition: `attachment; filename="${meta.fileName}"`,
        },
        body,
        options,
      );
    },
  };
}
