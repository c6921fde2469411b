import { StrataError, managementRefusal, type Role } from '@strata/core';
import type { Database } from '../db/index.js';
import { apiKeySecretContext, type SecretBox } from '../secrets/index.js';
import { randomSecret } from '../auth/passwords.js';
import type { Principal } from './accounts.js';
import { enforce, type Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import { effectiveRole, memberOf } from './members.js';
import { Where, iso, isoOrNull, listPage, type ListQuery, type Page } from './sql.js';

export interface ApiKey {
  readonly apiKey: string;
  readonly userId: string;
  readonly accountId: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** Returned once, at creation: the secret is never shown again. */
export interface ApiKeyWithSecret extends ApiKey {
  readonly secretKey: string;
}

const toKey = (r: Record<string, unknown>): ApiKey => ({
  apiKey: String(r['api_key']),
  userId: String(r['user_id']),
  accountId: String(r['account_id']),
  createdAt: iso(r['created_at']),
  revokedAt: isoOrNull(r['revoked_at']),
});

/** API keys (signed requests): issued, listed, revoked and looked up for authentication. */
export class ApiKeyService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly secrets: SecretBox,
  ) {}

  /**
   * Issues a key: a user for itself, an account admin for its account's users, an operator for
   * anyone. Audited (the key's id, never its secret).
   */
  async create(actor: Actor, input: { userId?: string } = {}): Promise<ApiKeyWithSecret> {
    const userId = input.userId ?? actor.userId;
    if (!userId) throw new StrataError('INVALID_ARGUMENT', { field: 'userId', reason: 'is required' });
    const target = await memberOf(this.db, userId);
    enforce(
      managementRefusal(actor, target, { action: "Issuing another user's API key", ownKeys: true }),
      'user',
      userId,
    );
    const apiKey = randomSecret(24);
    const secretKey = randomSecret(32);
    const rows = await this.secrets.sealing(this.db, async (tx, seal) => {
      const inserted = await tx.query(
        `INSERT INTO api_keys (api_key, user_id, secret) VALUES ($1,$2,$3) RETURNING *, $4::text AS account_id`,
        [apiKey, userId, seal(secretKey, apiKeySecretContext(apiKey)), target.accountId],
      );
      await this.audit.record(
        {
          kind: 'api-key.created',
          via: actor.via,
          actor,
          accountId: target.accountId,
          target: { type: 'api-key', id: apiKey },
          details: { userId },
        },
        tx,
      );
      return inserted;
    });
    return { ...toKey(rows[0] ?? {}), secretKey };
  }

  async list(
    actor: Actor,
    f: ListQuery & { accountId?: string; userId?: string } = {},
  ): Promise<Page<ApiKey>> {
    const where = new Where().scope(actor, 'u.account_id', f.accountId).eq('t.user_id', f.userId);
    // A user manages only its own keys, so it lists only those.
    if (actor.role === 'user') where.add('t.user_id = ?', actor.userId ?? '');
    return listPage(
      this.db,
      {
        columns: 't.*, u.account_id',
        from: 'api_keys t JOIN users u ON u.id = t.user_id',
        where,
        idColumn: 't.api_key',
      },
      f,
      toKey,
    );
  }

  async revoke(actor: Actor, apiKey: string): Promise<ApiKey> {
    const row = (
      await this.db.query(
        'SELECT k.*, u.account_id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.api_key = $1',
        [apiKey],
      )
    )[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'api key', id: apiKey });
    const target = await memberOf(this.db, String(row['user_id']));
    enforce(
      managementRefusal(actor, target, { action: "Revoking another user's API key", ownKeys: true }),
      'api key',
      apiKey,
    );
    const revokedAt = await this.db.transaction(async (tx) => {
      const done = await tx.query(
        'UPDATE api_keys SET revoked_at = now() WHERE api_key = $1 AND revoked_at IS NULL RETURNING revoked_at',
        [apiKey],
      );
      // Revoking twice changes nothing and records nothing.
      if (done[0])
        await this.audit.record(
          {
            kind: 'api-key.revoked',
            via: actor.via,
            actor,
            accountId: target.accountId,
            target: { type: 'api-key', id: apiKey },
            details: { userId: target.userId },
          },
          tx,
        );
      return done[0] ? iso(done[0]['revoked_at']) : isoOrNull(row['revoked_at']);
    });
    return { ...toKey(row), revokedAt };
  }

  /** For authentication: the secret and principal of a live key, or null. */
  async lookup(apiKey: string): Promise<(Principal & { secretKey: string }) | null> {
    const row = (
      await this.db.query(
        `SELECT k.secret, u.id AS user_id, a.id AS account_id, ${effectiveRole()} AS role FROM api_keys k
         JOIN users u ON u.id = k.user_id JOIN accounts a ON a.id = u.account_id
         WHERE k.api_key = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL`,
        [apiKey],
      )
    )[0];
    if (!row) return null;
    return {
      secretKey: await this.secrets.open(String(row['secret']), apiKeySecretContext(apiKey)),
      userId: String(row['user_id']),
      accountId: String(row['account_id']),
      role: row['role'] as Role,
    };
  }
}
