import { describe, expect, it } from 'vitest';
import { isIsoDate, localDate, nextDate, startOfLocalDay, toLocalIso, utcOffsetMinutes } from '../../functions/core/time.ts';

const NY = 'America/New_York';
const LONDON = 'Europe/London';
const HOUR = 3_600_000;

/** Hours from the start of a local day to the start of the next. */
const dayLengthHours = (date: string, tz: string) => (startOfLocalDay(nextDate(date), tz).getTime() - startOfLocalDay(date, tz).getTime()) / HOUR;

describe('time', () => {
  describe('localDate', () => {
    it.each([
      ['2026-03-02T04:59:59Z', NY, '2026-03-01', 'late evening in New York is still the day before in UTC terms'],
      ['2026-03-02T05:00:00Z', NY, '2026-03-02', 'midnight EST'],
      ['2026-06-15T03:59:59Z', NY, '2026-06-14', 'one second before midnight EDT'],
      ['2026-06-15T04:00:00Z', NY, '2026-06-15', 'midnight EDT'],
      ['2026-06-14T23:30:00Z', LONDON, '2026-06-15', 'half past midnight BST'],
      ['2026-01-14T23:30:00Z', LONDON, '2026-01-14', 'half past eleven GMT'],
      ['2026-06-15T14:00:00Z', 'Pacific/Kiritimati', '2026-06-16', 'UTC+14 is already tomorrow'],
      ['2026-06-15T11:00:00Z', 'Pacific/Pago_Pago', '2026-06-15', 'UTC-11'],
      ['2026-06-15T10:59:59Z', 'Pacific/Pago_Pago', '2026-06-14', 'UTC-11 a second earlier'],
    ])('%s in %s is %s (%s)', (instant, tz, expected) => {
      expect(localDate(new Date(instant), tz)).toBe(expected);
    });
  });

  describe('toLocalIso', () => {
    it.each([
      ['2026-01-15T17:30:05Z', NY, '2026-01-15T12:30:05-05:00', 'EST'],
      ['2026-06-15T14:00:00Z', NY, '2026-06-15T10:00:00-04:00', 'EDT'],
      ['2026-03-08T06:59:59Z', NY, '2026-03-08T01:59:59-05:00', 'the last second of EST'],
      ['2026-03-08T07:00:00Z', NY, '2026-03-08T03:00:00-04:00', 'the first second of EDT: 02:00 never happens'],
      ['2026-11-01T05:30:00Z', NY, '2026-11-01T01:30:00-04:00', 'the first 01:30 of the fall-back night'],
      ['2026-11-01T06:30:00Z', NY, '2026-11-01T01:30:00-05:00', 'the second 01:30 of the fall-back night'],
      ['2026-01-15T12:00:00Z', LONDON, '2026-01-15T12:00:00+00:00', 'GMT is written +00:00, not Z'],
      ['2026-06-15T14:00:00Z', LONDON, '2026-06-15T15:00:00+01:00', 'BST'],
      ['2026-06-15T14:00:00Z', 'Asia/Kolkata', '2026-06-15T19:30:00+05:30', 'a half-hour offset'],
      ['2026-06-15T14:00:00Z', 'Asia/Kathmandu', '2026-06-15T19:45:00+05:45', 'a three-quarter-hour offset'],
      ['2026-06-15T14:00:00.999Z', 'UTC', '2026-06-15T14:00:00+00:00', 'whole seconds: milliseconds are dropped'],
      ['2026-06-14T23:59:59.500Z', 'UTC', '2026-06-14T23:59:59+00:00', 'dropping milliseconds never rounds into the next day'],
    ])('%s in %s is %s (%s)', (instant, tz, expected) => {
      expect(toLocalIso(new Date(instant), tz)).toBe(expected);
    });

    it('round-trips: the local text names the same instant', () => {
      const instant = new Date('2026-11-01T06:30:00Z');
      expect(new Date(toLocalIso(instant, NY)).getTime()).toBe(instant.getTime());
    });
  });

  describe('utcOffsetMinutes', () => {
    it('is -300 in New York winter, -240 in summer, 60 in London summer', () => {
      expect(utcOffsetMinutes(new Date('2026-01-15T12:00:00Z'), NY)).toBe(-300);
      expect(utcOffsetMinutes(new Date('2026-06-15T12:00:00Z'), NY)).toBe(-240);
      expect(utcOffsetMinutes(new Date('2026-06-15T12:00:00Z'), LONDON)).toBe(60);
    });
  });

  describe('startOfLocalDay', () => {
    it.each([
      ['2026-06-15', NY, '2026-06-15T04:00:00.000Z'],
      ['2026-01-15', NY, '2026-01-15T05:00:00.000Z'],
      ['2026-03-08', NY, '2026-03-08T05:00:00.000Z'],
      ['2026-03-09', NY, '2026-03-09T04:00:00.000Z'],
      ['2026-11-01', NY, '2026-11-01T04:00:00.000Z'],
      ['2026-11-02', NY, '2026-11-02T05:00:00.000Z'],
      ['2026-03-29', LONDON, '2026-03-29T00:00:00.000Z'],
      ['2026-03-30', LONDON, '2026-03-29T23:00:00.000Z'],
      ['2026-10-25', LONDON, '2026-10-24T23:00:00.000Z'],
      ['2026-10-26', LONDON, '2026-10-26T00:00:00.000Z'],
      ['2026-06-15', 'Pacific/Kiritimati', '2026-06-14T10:00:00.000Z'],
    ])('%s in %s starts at %s', (date, tz, expected) => {
      expect(startOfLocalDay(date, tz).toISOString()).toBe(expected);
    });

    it.each([
      ['2026-03-08', NY, 23, 'spring forward'],
      ['2026-11-01', NY, 25, 'fall back'],
      ['2026-03-29', LONDON, 23, 'BST begins'],
      ['2026-10-25', LONDON, 25, 'BST ends'],
      ['2026-06-15', NY, 24, 'an ordinary summer day'],
      ['2026-01-15', LONDON, 24, 'an ordinary winter day'],
    ])('%s in %s is %i hours long (%s)', (date, tz, hours) => {
      expect(dayLengthHours(date, tz)).toBe(hours);
    });

    it.each([
      // Chile springs forward at midnight: 00:00 does not exist, the day starts at 01:00 -03.
      ['2026-09-06', 'America/Santiago', '2026-09-06T04:00:00.000Z', '2026-09-06T01:00:00-03:00'],
      // Lebanon likewise.
      ['2026-03-29', 'Asia/Beirut', '2026-03-28T22:00:00.000Z', '2026-03-29T01:00:00+03:00'],
      // Cuba falls back from 01:00 to 00:00: midnight happens twice, the day starts at the first.
      ['2026-11-01', 'America/Havana', '2026-11-01T04:00:00.000Z', '2026-11-01T00:00:00-04:00'],
    ])('finds the first instant of %s in %s, where the clock change is at midnight', (date, tz, utc, local) => {
      const start = startOfLocalDay(date, tz);
      expect(start.toISOString()).toBe(utc);
      expect(toLocalIso(start, tz)).toBe(local);
      expect(localDate(start, tz)).toBe(date);
      expect(localDate(new Date(start.getTime() - 1000), tz) < date).toBe(true);
    });

    it('starts a day a zone skipped (Samoa, 2011-12-30) where the next day starts', () => {
      expect(startOfLocalDay('2011-12-30', 'Pacific/Apia').toISOString()).toBe(startOfLocalDay('2011-12-31', 'Pacific/Apia').toISOString());
    });

    it('is the first second of the day for every day of 2026 in New York, London and Santiago', () => {
      for (const tz of [NY, LONDON, 'America/Santiago']) {
        for (let date = '2026-01-01'; date < '2027-01-01'; date = nextDate(date)) {
          const start = startOfLocalDay(date, tz);
          expect(localDate(start, tz), `${date} ${tz}`).toBe(date);
          expect(localDate(new Date(start.getTime() - 1000), tz) < date, `${date} ${tz}`).toBe(true);
        }
      }
    });
  });

  describe('nextDate', () => {
    it.each([
      ['2026-06-15', '2026-06-16'],
      ['2026-06-30', '2026-07-01'],
      ['2026-12-31', '2027-01-01'],
      ['2026-02-28', '2026-03-01'],
      ['2028-02-28', '2028-02-29'],
      ['2028-02-29', '2028-03-01'],
      ['2026-03-07', '2026-03-08'],
      ['0099-12-31', '0100-01-01'],
    ])('the day after %s is %s', (date, expected) => {
      expect(nextDate(date)).toBe(expected);
    });
  });

  describe('isIsoDate', () => {
    it.each(['2026-06-15', '2028-02-29', '2000-02-29', '2026-12-31', '0050-01-01'])('accepts %s', (s) => {
      expect(isIsoDate(s)).toBe(true);
    });
    it.each(['2026-02-29', '1900-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-06-00', '2026-6-15', '20260615', '2026-06-15T00:00:00Z', ' 2026-06-15', ''])(
      'rejects %j',
      (s) => {
        expect(isIsoDate(s)).toBe(false);
      },
    );
  });
});
