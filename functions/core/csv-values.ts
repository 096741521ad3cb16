/**
 * Value rules shared by the codes and users CSV files (docs/data-model.md): flags, identities, phone
 * numbers, lists, free text, and the duplicate check. Each rule returns a message that says what
 * is wrong and what to do, for the import report.
 */
import { normalizeIdentity } from './codes.ts';
import { E164, type Settings } from './settings.ts';

/** One bad value in one row, as the import report lists it. */
export interface RowError {
  line: number;
  column: string;
  value: string;
  message: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (message: string): Checked<never> => ({ ok: false, message });

// C0 and C1 controls, as in settings.ts: they break TTS, CSV exports and terminals.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;
const LINE_BREAK = /[\r\n\u2028\u2029]/u;

/** `true/false/yes/no/1/0` in any case (Excel writes TRUE/FALSE); empty is `undefined`. */
export function checkFlag(raw: string): Checked<boolean | undefined> {
  switch (raw.trim().toLowerCase()) {
    case '':
      return ok(undefined);
    case 'true':
    case 'yes':
    case '1':
      return ok(true);
    case 'false':
    case 'no':
    case '0':
      return ok(false);
    default:
      return bad('must be true or false (yes/no and 1/0 work too)');
  }
}

/** `upsert` (also empty) or `delete`. */
export function checkAction(raw: string): Checked<'upsert' | 'delete'> {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'upsert') return ok('upsert');
  if (v === 'delete') return ok('delete');
  return bad('must be upsert or delete (empty means upsert)');
}

/** Free text such as a description: at most `max` characters, on one line, no control characters. */
export function checkText(raw: string, max = 100): Checked<string | undefined> {
  const v = raw.trim();
  if (v === '') return ok(undefined);
  // Code points, not UTF-16 units: "Zürich 🇨🇭" is as long as it looks.
  const length = v.length <= max ? v.length : [...v].length;
  if (length > max) return bad(`is ${length} characters long; at most ${max} are allowed: shorten it`);
  if (LINE_BREAK.test(v)) return bad('contains a line break (Alt+Enter in Excel): put it on one line');
  if (CONTROL_CHARS.test(v)) return bad('contains a control character (such as a tab): remove it');
  return ok(v);
}

/** Why group names are not accepted, naming the groups that are (with a hint for a case slip). */
export function unknownGroupsMessage(unknown: readonly string[], settings: Settings): string {
  const defined = Object.keys(settings.groups);
  const names = unknown.map((u) => `"${u}"`).join(', ');
  const near = unknown.map((u) => defined.find((d) => d.toLowerCase() === u.toLowerCase())).filter((d) => d !== undefined);
  const hint = near.length > 0 ? ` (group names are case-sensitive: did you mean ${near.map((d) => `"${d}"`).join(', ')}?)` : '';
  const list =
    defined.length === 0 ? 'settings.json defines no groups: add them under "groups", or clear this column' : `the groups defined in settings.json are ${defined.join(', ')}`;
  return `unknown group${unknown.length > 1 ? 's' : ''} ${names}${hint}: ${list}`;
}

/** Values separated by `;`, trimmed, empty pieces (a trailing `;`) dropped. */
export function splitList(raw: string): string[] {
  const out: string[] = [];
  for (const piece of raw.split(';')) {
    const v = piece.trim();
    if (v !== '') out.push(v);
  }
  return out;
}

const SCIENTIFIC = /^[0-9](?:[.,][0-9]+)?E\+?[0-9]+$/iu;

/**
 * An E.164 number. Spaces, dashes, dots and brackets are allowed for readability
 * (`+1 (415) 555-0100`); a number Excel turned into `1.41556E+10` or stripped of its `+` is
 * refused with a hint.
 */
export function checkE164(raw: string): Checked<string> {
  const v = raw.trim();
  if (SCIENTIFIC.test(v)) {
    return bad(`looks like a spreadsheet changed the number into ${v}: format the column as Text, type the number again and export again`);
  }
  const compact = v.replace(/[\s().-]/gu, '');
  if (E164.test(compact)) return ok(compact);
  if (/^[0-9]{6,15}$/u.test(compact)) {
    return bad('must start with + and the country code (E.164, e.g. +14155550100); a spreadsheet may have dropped the +: format the column as Text');
  }
  return bad('must be a phone number in E.164 format: + then the country code and number, e.g. +14155550100');
}

const CLIENT = /^client:[A-Za-z0-9_.@-]{1,121}$/u;
const SIP = /^sip:[^\s@;?]+@[^\s@;?]+$/u;

/**
 * A user identity (docs/design.md): `client:alice`, `sip:alice@acme.sip.twilio.com` or an E.164
 * number, normalized with {@link normalizeIdentity} (SIP lower-cased, URI parameters dropped).
 */
export function checkIdentity(raw: string): Checked<string> {
  const v = raw.trim();
  if (/^client:/iu.test(v)) {
    const id = normalizeIdentity(v);
    return CLIENT.test(id) ? ok(id) : bad('a Voice SDK identity is client: and 1-121 letters, digits, "_", ".", "@" or "-", e.g. client:alice');
  }
  if (/^sips?:/iu.test(v)) {
    const id = normalizeIdentity(v);
    return SIP.test(id) ? ok(id) : bad('a SIP user is sip:<user>@<domain>, e.g. sip:alice@acme.sip.twilio.com');
  }
  if (/^[+0-9]/u.test(v)) return checkE164(v);
  return bad('must be client:<identity> (Voice SDK), sip:<user>@<domain> (SIP) or an E.164 number such as +14155550123');
}

/**
 * Remembers the first line of every key, to report a later repeat as "duplicate of line N".
 * Codes (up to 14 digits, leading zeros significant) are packed into doubles in an
 * open-addressing table: about 24 bytes each, so a 1,000,000-code file costs ~24 MB and no
 * garbage. Other keys (user identities) go to a Map.
 */
export class DuplicateTracker {
  private keys = new Float64Array(1024);
  private lines = new Uint32Array(1024);
  private used = 0;
  private readonly others = new Map<string, number>();

  /** The line `key` was first seen on, or undefined (and `line` is remembered) when it is new. */
  see(key: string, line: number): number | undefined {
    const packed = packDigits(key);
    if (packed === undefined) {
      const first = this.others.get(key);
      if (first === undefined) this.others.set(key, line);
      return first;
    }
    if ((this.used + 1) * 2 > this.keys.length) this.grow();
    const slot = this.slotOf(packed);
    if (this.keys[slot] === packed) return this.lines[slot];
    this.keys[slot] = packed;
    this.lines[slot] = line;
    this.used++;
    return undefined;
  }

  /** How many distinct keys have been seen. */
  get size(): number {
    return this.used + this.others.size;
  }

  /** The slot holding `packed`, or the empty slot where it belongs (linear probing). */
  private slotOf(packed: number): number {
    const mask = this.keys.length - 1;
    const lo = packed % 4294967296;
    const hi = (packed - lo) / 4294967296;
    let slot = (Math.imul((lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const k = this.keys[slot];
      if (k === 0 || k === packed) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldLines = this.lines;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.lines = new Uint32Array(oldKeys.length * 2);
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i] ?? 0;
      if (k === 0) continue;
      const slot = this.slotOf(k);
      this.keys[slot] = k;
      this.lines[slot] = oldLines[i] ?? 0;
    }
  }
}

/**
 * 1–14 digits as one exact double: length × 10^14 + value, so `0042` and `42` differ and the
 * result is never 0 (the empty slot). The largest, 14 × 10^14 + 10^14 - 1, is below 2^53.
 */
function packDigits(key: string): number | undefined {
  const n = key.length;
  if (n < 1 || n > 14) return undefined;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = key.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    value = value * 10 + d;
  }
  return n * 1e14 + value;
}
