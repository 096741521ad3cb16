/**
 * Plain data ↔ DynamoDB attribute values. The stored shapes are small JSON-like records, so a
 * few lines here replace `@aws-sdk/util-dynamodb` (one dependency less in the voice bundle).
 * Lists are stored as L, never as string sets: sets cannot be empty and lose order.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** One value; `undefined` is not a value (callers skip it). */
export function toAttr(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot store the number ${value}`);
      return { N: String(value) };
    case 'object':
      if (Array.isArray(value)) return { L: value.map((v) => toAttr(v === undefined ? null : v)) };
      return { M: toItem(value as Record<string, unknown>) };
    default:
      throw new TypeError(`cannot store a value of type ${typeof value}`);
  }
}

/** An object's defined fields as attributes. */
export function toItem(record: object): Item {
  const item: Item = {};
  for (const [k, v] of Object.entries(record)) {
    if (v !== undefined) item[k] = toAttr(v);
  }
  return item;
}

export function fromAttr(av: AttributeValue): unknown {
  if (av.S !== undefined) return av.S;
  if (av.N !== undefined) return Number(av.N);
  if (av.BOOL !== undefined) return av.BOOL;
  if (av.NULL !== undefined) return null;
  if (av.L !== undefined) return av.L.map(fromAttr);
  if (av.M !== undefined) return fromItem(av.M);
  if (av.SS !== undefined) return [...av.SS];
  if (av.NS !== undefined) return av.NS.map(Number);
  throw new TypeError(`unsupported attribute value ${Object.keys(av).join(',')}`);
}

const NOTHING: ReadonlySet<string> = new Set();

/** An item as a plain object, without the attributes named in `omit` (keys, TTL, …). */
export function fromItem(item: Item, omit: ReadonlySet<string> = NOTHING): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Keys, not entries: an export reads a million items, and an array per attribute adds up.
  for (const k of Object.keys(item)) {
    if (!omit.has(k)) out[k] = fromAttr(item[k] as AttributeValue);
  }
  return out;
}

/** The string value of an attribute, or undefined. */
export function str(item: Item | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

/** The numeric value of an attribute, or undefined. */
export function num(item: Item | undefined, name: string): number | undefined {
  const n = item?.[name]?.N;
  return n === undefined ? undefined : Number(n);
}
