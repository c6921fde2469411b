import { StrataError } from '@strata/core';

/** CloudStack's snapshot-policy interval types. */
export const INTERVAL_TYPES = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'] as const;
export type IntervalType = (typeof INTERVAL_TYPES)[number];

/** A parsed `schedule`: minute; hour (not HOURLY); day of week 1-7, Sunday 1 (WEEKLY); day of month 1-28 (MONTHLY). */
export interface Slot {
  readonly interval: IntervalType;
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
}

const FORMAT: Record<IntervalType, { parts: number; text: string }> = {
  HOURLY: { parts: 1, text: 'MM' },
  DAILY: { parts: 2, text: 'MM:HH' },
  WEEKLY: { parts: 3, text: 'MM:HH:DD (DD 1-7, Sunday is 1)' },
  MONTHLY: { parts: 3, text: 'MM:HH:DD (DD 1-28)' },
};

const bad = (field: string, reason: string): StrataError =>
  new StrataError('INVALID_ARGUMENT', { field, reason });

export function parseInterval(value: string): IntervalType {
  const up = value.trim().toUpperCase();
  if (!(INTERVAL_TYPES as readonly string[]).includes(up))
    throw bad('intervalType', `must be one of ${INTERVAL_TYPES.join(', ')}`);
  return up as IntervalType;
}

/** Parses CloudStack's `schedule` for an interval ("MM", "MM:HH" or "MM:HH:DD"). */
export function parseSlot(interval: IntervalType, schedule: string): Slot {
  const f = FORMAT[interval];
  const parts = schedule.split(':');
  if (parts.length !== f.parts || parts.some((p) => !/^\d{1,2}$/.test(p)))
    throw bad('schedule', `${interval} takes ${f.text}`);
  const [minute, hour = 0, day = 1] = parts.map(Number) as [number, number?, number?];
  if (minute > 59) throw bad('schedule', 'the minute must be 0-59');
  if (hour > 23) throw bad('schedule', 'the hour must be 0-23');
  const maxDay = interval === 'WEEKLY' ? 7 : 28;
  if (day < 1 || day > maxDay) throw bad('schedule', `the day must be 1-${maxDay}`);
  return { interval, minute, hour, day };
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** Checks an IANA time zone name (CloudStack's `timezone`); kept as given, so clients comparing it see no change. */
export function parseTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw bad('timezone', `unknown time zone ${JSON.stringify(tz)}`);
  }
}

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(tz, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function wallOf(t: number, tz: string): Wall & { second: number } {
  const p: Record<string, number> = {};
  for (const part of format(tz).formatToParts(new Date(t))) p[part.type] = Number(part.value);
  return {
    year: p['year']!,
    month: p['month']!,
    day: p['day']!,
    hour: p['hour']!,
    minute: p['minute']!,
    second: p['second']!,
  };
}

/** The zone's offset from UTC at instant `t`, in ms. */
function offsetAt(t: number, tz: string): number {
  const w = wallOf(t, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/**
 * The instant a wall-clock time happens in a zone. A time that happens twice (clocks go back)
 * answers the first; one that never happens (clocks go forward) answers the wall time moved on
 * by the gap (02:30 on the day of a one-hour gap at 02:00 is 03:30).
 */
export function wallToInstant(w: Wall, tz: string): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  const before = offsetAt(naive - 86_400_000, tz);
  const after = offsetAt(naive + 86_400_000, tz);
  const fits = [naive - before, naive - after].filter(
    (t, i) => offsetAt(t, tz) === (i === 0 ? before : after),
  );
  return fits.length > 0 ? Math.min(...fits) : naive - before;
}

/** The first slot strictly after `after`: a missed run is one run, whatever number of slots it missed. */
export function nextSlot(slot: Slot, tz: string, after: Date): Date {
  const now = after.getTime();
  if (slot.interval === 'HOURLY') {
    // Every real hour, also around clock changes: the next instant whose local minute is the slot's.
    const start = Math.floor(now / 60_000) * 60_000 + 60_000;
    for (let t = start; t <= start + 2 * 3_600_000; t += 60_000) {
      if (wallOf(t, tz).minute === slot.minute) return new Date(t);
    }
    throw new StrataError('INTERNAL', { reason: `no hourly slot found in ${tz}` });
  }
  const today = wallOf(now, tz);
  // Walk whole days from yesterday (zones ahead of UTC) until a day that carries the slot.
  for (let d = -1; d <= 62; d++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + d));
    if (slot.interval === 'WEEKLY' && date.getUTCDay() + 1 !== slot.day) continue;
    if (slot.interval === 'MONTHLY' && date.getUTCDate() !== slot.day) continue;
    const t = wallToInstant(
      {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour: slot.hour,
        minute: slot.minute,
      },
      tz,
    );
    if (t > now) return new Date(t);
  }
  throw new StrataError('INTERNAL', { reason: `no ${slot.interval} slot found in ${tz}` });
}
