import { StrataError, isStrataError } from '@strata/core';
import type { ApiKeyService } from '../services/api-keys.js';
import type { Actor } from '../services/actor.js';
import type { AuditLog } from '../services/audit.js';
import type { ReplayGuard } from './replay-guard.js';
import { restSignedParams } from './rest-signing.js';
import type { SessionStore } from './sessions.js';
import { readSignedRequest, verifySignature, type SignedParams, type VerifyOptions } from './signature.js';

export interface RestRequestParts {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: SignedParams;
  readonly rawBody: string | undefined;
  readonly authorization: string | undefined;
  /** The client's address, for the audit trail. */
  readonly remoteAddress?: string;
}

/** Which door a signed request came through, and from where: an audited refusal names both. */
export interface SignedRequestOptions extends VerifyOptions {
  readonly replayProtection?: boolean;
  readonly door?: 'rest-signature' | 'cloudstack-signature';
  readonly remoteAddress?: string;
}

/** Largest distance of `expires` into the future the REST API accepts. */
export const MAX_SIGNATURE_VALIDITY_MS = 3600_000;

/**
 * Turns credentials into an Actor. One path for signed requests (shared with the CloudStack API
 * through `authenticateSigned`), one for session tokens.
 */
export class Authenticator {
  /** Recently used keys: saves a database round trip per request; a revocation on another server takes effect within `keyCacheMs`. */
  private readonly keyCache = new Map<
    string,
    { key: Awaited<ReturnType<ApiKeyService['lookup']>>; until: number }
  >();

  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly replay: ReplayGuard,
    private readonly sessions: SessionStore,
    private readonly audit: AuditLog,
    private readonly keyCacheMs = 5_000,
  ) {}

  private async lookupKey(apiKey: string): Promise<Awaited<ReturnType<ApiKeyService['lookup']>>> {
    const now = Date.now();
    const hit = this.keyCache.get(apiKey);
    if (hit && hit.until > now) return hit.key;
    const key = await this.apiKeys.lookup(apiKey);
    if (this.keyCache.size >= 10_000) this.keyCache.clear();
    if (key) this.keyCache.set(apiKey, { key, until: now + this.keyCacheMs });
    return key;
  }

  /** Drops a key from the cache at once (revocation on this server). */
  forgetKey(apiKey: string): void {
    this.keyCache.delete(apiKey);
  }

  /** Drops an account's keys from the cache (its role changed for all its users). */
  forgetAccount(accountId: string): void {
    for (const [apiKey, hit] of this.keyCache)
      if (hit.key?.accountId === accountId) this.keyCache.delete(apiKey);
  }

  /** Drops a user's keys from the cache (its role changed): the next request reads the new role. */
  forgetUser(userId: string): void {
    for (const [apiKey, hit] of this.keyCache) if (hit.key?.userId === userId) this.keyCache.delete(apiKey);
  }

  /**
   * Records a refused credential. Only the error code and, when the key is real, its id and
   * owner: never the signature, the secret, or text the caller made up. A failed write must not
   * turn the 401 into a 500, so it is swallowed; the refusal stands either way.
   */
  private async refused(
    err: unknown,
    via: string,
    remoteAddress: string | undefined,
    key: { apiKey: string; userId: string; accountId: string } | null,
  ): Promise<void> {
    if (!isStrataError(err) || !err.code.startsWith('AUTH_')) return;
    await this.audit
      .record({
        kind: 'auth.failed',
        via,
        code: err.code,
        accountId: key?.accountId ?? null,
        target: key ? { type: 'api-key', id: key.apiKey } : null,
        remoteAddress: remoteAddress ?? null,
        details: key ? { userId: key.userId } : {},
      })
      .catch(() => undefined);
  }

  /**
   * A request signed CloudStack's way. `params` are exactly the signed parameters (for REST,
   * including the implied ones). Unknown key and bad signature both answer AUTH_BAD_SIGNATURE
   * with no hint which it was.
   */
  async authenticateSigned(params: SignedParams, options: SignedRequestOptions = {}): Promise<Actor> {
    let known: { apiKey: string; userId: string; accountId: string } | null = null;
    try {
      const { apiKey } = readSignedRequest(params);
      const key = await this.lookupKey(apiKey);
      if (!key) throw new StrataError('AUTH_BAD_SIGNATURE', { reason: 'unknown or revoked API key' });
      known = { apiKey, userId: key.userId, accountId: key.accountId };
      const verified = verifySignature(params, key.secretKey, options);
      if (options.replayProtection !== false) await this.replay.check(verified.signature, verified.expiresAt);
      return { accountId: key.accountId, userId: key.userId, role: key.role, via: 'api-key', apiKey };
    } catch (e) {
      // A request with no credential at all is a knock, not an attempt: not recorded.
      if ('apiKey' in params || 'signature' in params)
        await this.refused(e, options.door ?? 'rest-signature', options.remoteAddress, known);
      throw e;
    }
  }

  async authenticateRest(req: RestRequestParts): Promise<Actor> {
    const auth = req.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m?.[1])
        throw new StrataError('AUTH_UNAUTHENTICATED', {
          reason: 'Authorization must be "Bearer <session token>"',
        });
      const p = await this.sessions.resolve(m[1]).catch(async (e: unknown) => {
        await this.refused(e, 'session-token', req.remoteAddress, null);
        throw e;
      });
      return { ...p, via: 'session' };
    }
    if (!('signature' in req.query) && !('apiKey' in req.query)) {
      throw new StrataError('AUTH_UNAUTHENTICATED', {
        reason: 'send a signed request (apiKey + signature) or a session token',
      });
    }
    const params = restSignedParams(req.method, req.path, req.query, req.rawBody);
    return this.authenticateSigned(params, {
      requireExpires: true,
      maxValidityMs: MAX_SIGNATURE_VALIDITY_MS,
      door: 'rest-signature',
      remoteAddress: req.remoteAddress,
    });
  }
}
