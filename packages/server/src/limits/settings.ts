import { StrataError } from '@strata/core';

/** What the server lets one caller (or everybody) do at once or per minute (docs/api.md, "Limits"). */
export interface LimitSettings {
  /** Requests per minute for one API key or one session's user; 0: no limit. */
  readonly requestsPerMinute: number;
  /**
   * Unauthenticated requests per minute from one address (login, /healthz, /openapi.json,
   * /metrics and every request whose credentials fail); 0: no limit.
   */
  readonly anonymousPerMinute: number;
  /** Long-poll job waits (`GET /v1/jobs/{id}?wait=`) open at once on this server; 0: no limit. */
  readonly jobWaits: number;
  /** Long-poll job waits open at once for one user (or one account's keys without a user); 0: no limit. */
  readonly jobWaitsPerUser: number;
}

// Generous: the limits stop floods, not clients that poll hard or test suites that drive one user.
export const DEFAULT_LIMITS: LimitSettings = {
  requestsPerMinute: 6000,
  anonymousPerMinute: 1200,
  jobWaits: 1000,
  jobWaitsPerUser: 50,
};

/** The flag, the environment variable and the setting each limit is read from. */
export const LIMIT_SOURCES = [
  { flag: 'rate-limit', env: 'STRATA_RATE_LIMIT', key: 'requestsPerMinute' },
  { flag: 'rate-limit-anonymous', env: 'STRATA_RATE_LIMIT_ANONYMOUS', key: 'anonymousPerMinute' },
  { flag: 'job-waits', env: 'STRATA_JOB_WAITS', key: 'jobWaits' },
  { flag: 'job-waits-per-user', env: 'STRATA_JOB_WAITS_PER_USER', key: 'jobWaitsPerUser' },
] as const satisfies ReadonlyArray<{ flag: string; env: string; key: keyof LimitSettings }>;

/** Reads each limit from its flag, else its variable, else the default; a non-count refuses the start. */
export function readLimits(
  flags: Readonly<Record<string, string | undefined>>,
  env: NodeJS.ProcessEnv,
): LimitSettings {
  const out: Record<keyof LimitSettings, number> = { ...DEFAULT_LIMITS };
  for (const { flag, env: name, key } of LIMIT_SOURCES) {
    const text = flags[flag] ?? env[name];
    if (text === undefined || text === '') continue;
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
      throw new StrataError('INVALID_ARGUMENT', { field: flag, reason: `"${text}" is not a whole number` });
    out[key] = n;
  }
  return out;
}
