import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../services/actor.js';
import { limited } from './limited.js';
import type { LimitSettings } from './settings.js';

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const MINUTE_MS = 60_000;

/** What a verified caller is keyed by (an Actor, or the CloudStack API's caller). */
export type KeyedCaller = Pick<Actor, 'accountId' | 'userId' | 'apiKey'>;

/** The budget a verified caller spends from: its API key, else its session's user. */
function callerKey(actor: KeyedCaller): string {
  if (actor.apiKey) return `key:${actor.apiKey}`;
  return actor.userId ? `user:${actor.userId}` : `account:${actor.accountId}`;
}

function addressKey(req: FastifyRequest): string {
  return `addr:${normalizeIP(req.ip)}`;
}

/**
 * Request rate limits through @fastify/rate-limit (one fixed window per minute, in this
 * process): a verified caller spends from its own budget (its API key, or its session's user);
 * everything unauthenticated spends from its address's. A caller is keyed only after its
 * credentials are checked, so nobody can spend somebody else's budget by naming their API key.
 */
export class RequestLimits {
  #caller: Limiter | null = null;
  #anonymous: Limiter | null = null;
  /** Each verified request's budget, read by the caller limiter's key generator. */
  readonly #callerKeys = new WeakMap<FastifyRequest, string>();

  constructor(readonly settings: LimitSettings) {}

  /** Registers the plugin on the app; call once, before routes are added. */
  async install(app: FastifyInstance): Promise<void> {
    await app.register(rateLimit, { global: false, timeWindow: MINUTE_MS });
    const { requestsPerMinute, anonymousPerMinute } = this.settings;
    if (requestsPerMinute > 0)
      this.#caller = app.createRateLimit({
        max: requestsPerMinute,
        keyGenerator: (req) => this.#callerKeys.get(req) ?? addressKey(req),
      });
    if (anonymousPerMinute > 0)
      this.#anonymous = app.createRateLimit({ max: anonymousPerMinute, keyGenerator: addressKey });
  }

  /** A request that needs no credentials (login, /healthz, …) spends from its address. */
  async anonymous(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    await spend(this.#anonymous, req, reply, 'unauthenticated requests from this address');
  }

  /**
   * Runs `check` (the credential check) under the limits. A failed check spends from the
   * address's budget of unauthenticated requests and, once that is spent, is answered
   * RATE_LIMITED instead of its own error. A verified caller spends from its own budget only:
   * a flood of bad credentials from an address (or a NAT it shares) never locks out a caller
   * whose credentials are good.
   */
  async authenticate<A extends KeyedCaller>(
    req: FastifyRequest,
    reply: FastifyReply,
    check: () => Promise<A>,
  ): Promise<A> {
    let actor: A;
    try {
      actor = await check();
    } catch (e) {
      await spend(this.#anonymous, req, reply, 'unauthenticated requests from this address');
      throw e;
    }
    this.#callerKeys.set(req, callerKey(actor));
    await spend(this.#caller, req, reply, 'requests from this caller');
    return actor;
  }
}

async function spend(
  limiter: Limiter | null,
  req: FastifyRequest,
  reply: FastifyReply,
  what: string,
): Promise<void> {
  if (!limiter) return;
  const r = await limiter(req);
  if (r.isAllowed) return;
  reply.header('x-ratelimit-limit', r.max);
  reply.header('x-ratelimit-remaining', r.remaining);
  reply.header('x-ratelimit-reset', r.ttlInSeconds);
  if (r.isExceeded) throw limited(what, r.ttlInSeconds, r.max);
}
