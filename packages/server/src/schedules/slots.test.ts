import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError } from '@strata/core';
import { nextSlot, parseSlot, parseTimeZone, wallToInstant } from './slots.js';

const at = (iso: string) => new Date(iso);
const next = (interval: 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY', s: string, tz: string, after: string) =>
  nextSlot(parseSlot(interval, s), tz, at(after)).toISOString();

describe('snapshot schedule slots', () => {
  it('parses CloudStack schedules and refuses bad ones with INVALID_ARGUMENT', () => {
    assert.deepEqual(parseSlot('WEEKLY', '30:02:1'), { interval: 'WEEKLY', minute: 30, hour: 2, day: 1 });
    for (const [i, s] of [
      ['HOURLY', '60'],
      ['HOURLY', '5:1'],
      ['DAILY', '00:24'],
      ['WEEKLY', '0:0:8'],
      ['MONTHLY', '0:0:29'],
      ['MONTHLY', '0:0:0'],
      ['DAILY', '1;rm -rf'],
    ] as const) {
      assert.throws(
        () => parseSlot(i, s),
        (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT',
      );
    }
    assert.equal(parseTimeZone('Europe/Paris'), 'Europe/Paris');
    assert.throws(
      () => parseTimeZone('Mars/Olympus'),
      (e: unknown) => e instanceof StrataError,
    );
  });

  it('answers the next slot strictly after now, in the zone', () => {
    assert.equal(next('HOURLY', '15', 'UTC', '2026-03-01T10:15:00Z'), '2026-03-01T11:15:00.000Z');
    assert.equal(next('HOURLY', '15', 'UTC', '2026-03-01T10:14:59Z'), '2026-03-01T10:15:00.000Z');
    // India is 5:30 ahead: local minute 0 is UTC minute 30.
    assert.equal(next('HOURLY', '00', 'Asia/Kolkata', '2026-03-01T10:00:00Z'), '2026-03-01T10:30:00.000Z');
    assert.equal(next('DAILY', '30:02', 'Europe/Paris', '2026-01-10T12:00:00Z'), '2026-01-11T01:30:00.000Z');
    // 2026-01-11 is a Sunday (day 1); the slot is 08:00 in Tokyo, the day before in UTC.
    assert.equal(next('WEEKLY', '00:08:1', 'Asia/Tokyo', '2026-01-07T00:00:00Z'), '2026-01-10T23:00:00.000Z');
    assert.equal(next('MONTHLY', '00:00:28', 'UTC', '2026-02-28T00:00:00Z'), '2026-03-28T00:00:00.000Z');
  });

  it('fires once after downtime: the slot after now, not the ones missed', () => {
    // Down for three days: the next run is the next slot, the three missed are not replayed.
    assert.equal(next('DAILY', '00:06', 'UTC', '2026-05-04T09:00:00Z'), '2026-05-05T06:00:00.000Z');
  });

  it('handles clock changes: a slot in the gap runs late, one in the repeated hour runs once', () => {
    // New York springs forward 2026-03-08 at 02:00 (EST to EDT): 02:30 does not exist, runs 03:30 EDT.
    assert.equal(
      next('DAILY', '30:02', 'America/New_York', '2026-03-08T05:00:00Z'),
      '2026-03-08T07:30:00.000Z',
    );
    // Falls back 2026-11-01 at 02:00 (EDT to EST): 01:30 happens twice; the first (EDT) is the slot,
    // and the next one after it is the following day's, not the second 01:30.
    const first = next('DAILY', '30:01', 'America/New_York', '2026-11-01T04:00:00Z');
    assert.equal(first, '2026-11-01T05:30:00.000Z');
    assert.equal(next('DAILY', '30:01', 'America/New_York', first), '2026-11-02T06:30:00.000Z');
    // Hourly runs every real hour through both changes.
    assert.equal(
      next('HOURLY', '30', 'America/New_York', '2026-11-01T05:30:00Z'),
      '2026-11-01T06:30:00.000Z',
    );
    assert.equal(
      next('HOURLY', '30', 'America/New_York', '2026-03-08T06:30:00Z'),
      '2026-03-08T07:30:00.000Z',
    );
    assert.equal(
      wallToInstant({ year: 2026, month: 7, day: 1, hour: 12, minute: 0 }, 'Europe/Paris'),
      Date.parse('2026-07-01T10:00:00Z'),
    );
  });
});
