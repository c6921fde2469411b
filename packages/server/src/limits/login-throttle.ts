import { isStrataError } from '@strata/core';
import { limited } from './limited.js';

export interface LoginThrottleOptions {
  /** Failures of one name that cost nothing more (typos). */
  readonly freeFailures: number;
  /** The wait after the first failure past the free ones; doubles with each further failure. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** A name with no failure for this long starts afresh. */
  readonly forgetAfterMs: number;
  /** Names remembered at most (the oldest are forgotten first). */
  readonly maxNames: number;
  /** Password checks (scrypt) running at once on this server, every name together. */
  readonly maxChecks: number;
  readonly now: () => number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  freeFailures: 3,
  firstDelayMs: 1000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxNames: 50_000,
  maxChecks: 16,
  now: Date.now,
};

interface Failures {
  count: number;
  notBefore: number;
  last: number;
}

/**
 * Makes password guessing for one user name slow: one check at a time per name, and after a few
 * failures each further try must wait for a period that doubles (up to `maxDelayMs`). A refused
 * try is RATE_LIMITED before any scrypt runs, so a flood for one name costs at most a few
 * password checks per second; other names are not slowed. A success forgets the name's failures.
 */
export class LoginThrottle {
  readonly #opts: LoginThrottleOptions;
  readonly #failures = new Map<string, Failures>();
  readonly #checking = new Set<string>();

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.#opts = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  /** Runs `check` for `name` if the name may try now; AUTH_BAD_CREDENTIALS counts as a failure. */
  async attempt<T>(name: string, check: () => Promise<T>): Promise<T> {
    const now = this.#opts.now();
    this.#forgetOld(now);
    const f = this.#failures.get(name);
    if (f && f.notBefore > now)
      throw limited('failed logins for this user', Math.ceil((f.notBefore - now) / 1000));
    if (this.#checking.has(name)) throw limited('logins at once for this user', 1);
    if (this.#checking.size >= this.#opts.maxChecks) throw limited('logins at once', 1);
    this.#checking.add(name);
    try {
      const result = await check();
      this.#failures.delete(name);
      return result;
    } catch (e) {
      if (isStrataError(e, 'AUTH_BAD_CREDENTIALS')) this.#fail(name, this.#opts.now());
      throw e;
    } finally {
      this.#checking.delete(name);
    }
  }

  /** Seconds `name` must still wait before its next try (0: it may try now). */
  waitSeconds(name: string): number {
    const f = this.#failures.get(name);
    return f ? Math.max(0, Math.ceil((f.notBefore - this.#opts.now()) / 1000)) : 0;
  }

  #fail(name: string, now: number): void {
    const { freeFailures, firstDelayMs, maxDelayMs, maxNames } = this.#opts;
    const count = (this.#failures.get(name)?.count ?? 0) + 1;
    const over = count - freeFailures;
    const delay = over > 0 ? Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(over - 1, 30)) : 0;
    // re-inserted so the map stays ordered by last failure, oldest first
    this.#failures.delete(name);
    this.#failures.set(name, { count, notBefore: now + delay, last: now });
    if (this.#failures.size > maxNames) {
      const oldest = this.#failures.keys().next();
      if (!oldest.done) this.#failures.delete(oldest.value);
    }
  }

  #forgetOld(now: number): void {
    for (const [name, f] of this.#failures) {
      if (now - f.last < this.#opts.forgetAfterMs) break;
      this.#failures.delete(name);
    }
  }
}
