/**
 * The rows every import benchmark uses, generated the same way for the CSV file the importer
 * reads and for the raw BatchWriteItem baseline: one authorization code in ten (so the HMAC is
 * part of the work), the rest account codes with a description.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { accountCodeKey, authorizationCodeKey, codeRef } from '../../functions/adapters/code-key.ts';
import { shardOf } from '../../functions/adapters/dynamodb/codes.ts';
import type { TableNames } from '../../functions/adapters/dynamodb/tables.ts';

export const ACCOUNT = 'bench';
export const BUCKET = 'tollgate-bench';
export const PEPPER = 'bench-pepper-4d1f0a7c';
export const TABLES: TableNames = { accounts: 'bench-accounts', codes: 'bench-codes', calls: 'bench-calls' };
/** BatchWriteItem requests in flight, the importer's and the baseline's alike (batch.ts's default). */
export const CONCURRENCY = 4;
/** Generous: dynalite holding a million items in memory pauses for garbage collection now and then. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface BenchRow {
  readonly code: string;
  readonly description: string;
  readonly kind: 'account' | 'authorization';
  readonly level?: number;
}

export const CSV_HEADER = 'code,description,kind,level';

export function benchRow(i: number): BenchRow {
  const code = String(10_000_000 + i); // 8 digits, within codeLength 4-8
  if (i % 10 === 0) return { code, description: `Authorized caller ${i}`, kind: 'authorization', level: i % 4 };
  return { code, description: `Client ${i}`, kind: 'account' };
}

/** What DynamoCodeStore.writeCodes puts for row `i` of the file, built directly. */
export function codeItem(i: number): Record<string, AttributeValue> {
  const r = benchRow(i);
  const key = r.kind === 'authorization' ? authorizationCodeKey(PEPPER, ACCOUNT, r.code) : accountCodeKey(r.code);
  return {
    kind: { S: r.kind },
    ...(r.kind === 'account' ? { code: { S: r.code } } : { ref: { S: codeRef(key) } }),
    description: { S: r.description },
    enabled: { BOOL: true },
    ...(r.kind === 'authorization' ? { level: { N: String(r.level ?? 0) } } : {}),
    pk: { S: `${ACCOUNT}#${shardOf(key)}` },
    sk: { S: key },
  };
}

/** Rows 0 … n-1 as stored. */
export function* codeItems(n: number): Generator<Record<string, AttributeValue>> {
  for (let i = 0; i < n; i++) yield codeItem(i);
}

export function csvLine(r: BenchRow): string {
  return `${r.code},${r.description},${r.kind},${r.level ?? ''}`;
}

export function benchSettings(): Record<string, unknown> {
  return {
    account: ACCOUNT,
    twilioAccountSids: [`AC${'b'.repeat(32)}`],
    homeCountry: 'US',
    timeZone: 'America/New_York',
    codeLength: { min: 4, max: 8 },
  };
}
