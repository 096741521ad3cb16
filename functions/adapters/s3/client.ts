/**
 * S3 access shared by the handlers, the CLI and the local stack. The local settings are the
 * ones docs/operations.md measured s3rver to need: path-style addressing, its fixed credentials,
 * and checksums only when required (otherwise streamed uploads are stored with the
 * aws-chunked framing inside the object).
 */
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Options {
  /** Set for a local S3-compatible endpoint (s3rver); unset in AWS. */
  readonly endpoint?: string;
  readonly region?: string;
}

export function makeS3Client(options: S3Options = {}): S3Client {
  // In AWS the SDK finds the region itself (AWS_REGION); a local endpoint needs one named.
  const config: S3ClientConfig = options.region === undefined ? {} : { region: options.region };
  if (options.endpoint !== undefined) {
    Object.assign(config, {
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    } satisfies Partial<S3ClientConfig>);
  }
  return new S3Client(config);
}

/** A stored object's bytes as a stream, pinned to a version (or an ETag where there are no versions). */
export async function readObject(
  client: S3Client,
  bucket: string,
  key: string,
  pin: { readonly versionId?: string; readonly eTag?: string } = {},
): Promise<AsyncIterable<Uint8Array>> {
  const out = await client.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(pin.versionId === undefined ? {} : { VersionId: pin.versionId }),
      ...(pin.versionId === undefined && pin.eTag !== undefined ? { IfMatch: quoteETag(pin.eTag) } : {}),
    }),
  );
  if (out.Body === undefined) return (async function* () {})();
  return out.Body as unknown as AsyncIterable<Uint8Array>;
}

export async function putJson(client: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(value, null, 2)}\n`,
      ContentType: 'application/json; charset=utf-8',
    }),
  );
}

function quoteETag(eTag: string): string {
  return eTag.startsWith('"') ? eTag : `"${eTag}"`;
}
