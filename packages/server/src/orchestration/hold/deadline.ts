import { StrataError } from '@strata/core';

/** Guests stay frozen or paused at most this long, whatever else fails (the agent enforces it). */
export const HOLD_DEADLINE_MS = 5_000;

/** An operator may bound holds tighter (never looser): a whole number of ms in 1..5000. */
export const HOLD_DEADLINE_ENV = 'STRATA_HOLD_DEADLINE_MS';

/** The hold deadline a new cut plans with: STRATA_HOLD_DEADLINE_MS when set, else 5 s. */
export function holdDeadlineMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[HOLD_DEADLINE_ENV];
  if (raw === undefined || raw === '') return HOLD_DEADLINE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1 || ms > HOLD_DEADLINE_MS) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: HOLD_DEADLINE_ENV,
      reason: `a whole number of ms in 1..${HOLD_DEADLINE_MS}`,
    });
  }
  return ms;
}
