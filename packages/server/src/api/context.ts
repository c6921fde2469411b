import type { Authenticator, SessionStore } from '../auth/index.js';
import type { RequestLimits } from '../limits/request-limits.js';
import type { Metrics } from '../observability/index.js';
import type { Actor } from '../services/actor.js';
import type { Services } from '../services/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every /v1 route except login. */
    actor?: Actor;
    /** The exact body text, for the signature's content hash. */
    rawBody?: string;
  }
  interface FastifyContextConfig {
    /** Routes that answer without credentials. */
    public?: boolean;
    /** Checks its own credentials and spends from the limits itself (the CloudStack API). */
    ownLimits?: boolean;
  }
}

export interface ApiDeps {
  readonly services: Services;
  readonly authenticator: Authenticator;
  readonly sessions: SessionStore;
  readonly metrics: Metrics;
  readonly limits: RequestLimits;
}
