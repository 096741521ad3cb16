/**
 * Calendar arithmetic in an account's time zone with nothing but Intl: usage-log days and
 * code expiry are local days (docs/data-model.md), and DST days are 23 or 25 hours long.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function localParts(instant: Date, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The local calendar day of an instant, `YYYY-MM-DD`. */
export function localDate(instant: Date, timeZone: string): string {
  const p = localParts(instant, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** Offset of local time from UTC at an instant, in minutes (New York in winter: -300). */
export function utcOffsetMinutes(instant: Date, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

/** ISO 8601 with the local UTC offset and whole seconds: `2026-03-08T01:59:59-05:00`. */
export function toLocalIso(instant: Date, timeZone: string): string {
  const p = localParts(instant, timeZone);
  const offset = utcOffsetMinutes(instant, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The first instant of a local day (`YYYY-MM-DD`). Found by correcting a UTC guess with the
 * zone's offset twice, which lands right on ordinary DST change days (New York, London: the
 * change is at night, not at midnight). Where the change is *at* midnight — Santiago, Beirut,
 * Havana: 00:00 does not exist, or exists twice — the guess is checked and, when it is not the
 * first second of the day, the boundary is found by bisection. A day a zone skipped entirely
 * (Pacific/Apia, 2011-12-30) starts where the next day starts.
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = utcMidnight(y, m, d);
  let t = guess - utcOffsetMinutes(new Date(guess), timeZone) * 60_000;
  t = guess - utcOffsetMinutes(new Date(t), timeZone) * 60_000;
  if (localDate(new Date(t), timeZone) === date && localDate(new Date(t - 1000), timeZone) < date) return new Date(t);
  // Local time is within UTC-12..UTC+14: 15 h before the UTC midnight is still the previous
  // local day, 13 h after it is this day or later. Bisect on whole seconds (offsets change on them).
  let lo = guess - 15 * 3_600_000;
  let hi = guess + 13 * 3_600_000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (localDate(new Date(mid), timeZone) >= date) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** The day after a `YYYY-MM-DD` date. */
export function nextDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(utcMidnight(y, m, d + 1));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(utcMidnight(y, m, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** `Date.UTC` without its two-digit-year rule (`Date.UTC(99, …)` is 1999, not year 99). */
function utcMidnight(year: number, month: number, day: number): number {
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day);
  return t.getTime();
}
