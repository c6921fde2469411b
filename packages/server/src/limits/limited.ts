import { StrataError } from '@strata/core';

/** The one refusal of every limit: RATE_LIMITED with the seconds to wait (the Retry-After header). */
export function limited(what: string, retryAfterSeconds: number, limit?: number): StrataError {
  return new StrataError('RATE_LIMITED', {
    what,
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)),
    ...(limit === undefined ? {} : { limit }),
  });
}
