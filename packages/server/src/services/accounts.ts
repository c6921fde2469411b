import { StrataError, validateName, type Account, type Role } from '@strata/core';
import type { Database } from '../db/index.js';
import { apiKeySecretContext, type SecretBox } from '../secrets/index.js';
import { hashPassword, randomSecret } from '../auth/passwords.js';
import { requireAdmin, ensureVisible, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { Where, iso, isoOrNull, listPage, uniqueAsExists, type ListQuery, type Page } from './sql.js';

export interface User {
  readonly id: string;
  readonly accountId: string;
  readonly username: string;
  readonly createdAt: string;
}

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

/** What authentication needs to know about a credential. */
export interface Principal {
  readonly userId: string;
  readonly accountId: string;
  readonly role: Role;
}

const toAccount = (r: Record<string, unknown>): Account => ({
  id: String(r['id']),
  name: String(r['name']),
  role: r['role'] as Role,
  createdAt: iso(r['created_at']),
});

const toUser = (r: Record<string, unknown>): User => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  username: String(r['username']),
  createdAt: iso(r['created_at']),
});

const toKey = (r: Record<string, unknown>): ApiKey => ({
  apiKey: String(r['api_key']),
  userId: String(r['user_id']),
  accountId: String(r['account_id']),
  createdAt: iso(r['created_at']),
  revokedAt: isoOrNull(r['revoked_at']),
});

/** Accounts (tenants), their users (console logins) and API keys (signed requests). */
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
    private readonly secrets: SecretBox,
  ) {}

  async create(actor: Actor, input: { name: string; role?: Role }): Promise<Account> {
    requireAdmin(actor, 'Creating an account');
    const name = validateName('name', input.name, 128);
    const role = input.role ?? 'user';
    if (role !== 'admin' && role !== 'user')
      throw new StrataError('INVALID_ARGUMENT', { field: 'role', reason: 'must be admin or user' });
    const id = newId('acct');
    const rows = await this.db
      .query('INSERT INTO accounts (id, name, role) VALUES ($1, $2, $3) RETURNING *', [id, name, role])
      .catch((e: unknown) => uniqueAsExists(e, 'account', name));
    await this.events.record({
      accountId: id,
      type: 'account.Created',
      resourceType: 'account',
      resourceId: id,
    });
    return toAccount(rows[0] ?? {});
  }

  async get(actor: Actor, id: string): Promise<Account> {
    const row = (await this.db.query('SELECT * FROM accounts WHERE id = $1', [id]))[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'account', id });
    ensureVisible(actor, 'account', id, id);
    return toAccount(row);
  }

  async list(actor: Actor, f: ListQuery & { name?: string; role?: string } = {}): Promise<Page<Account>> {
    const where = new Where().scope(actor, 't.id').eq('t.name', f.name).eq('t.role', f.role);
    return listPage(this.db, { columns: 't.*', from: 'accounts t', where }, f, toAccount);
  }

  async createUser(
    actor: Actor,
    input: { accountId: string; username: string; password?: string },
  ): Promise<User> {
    await this.get(actor, input.accountId);
    if (actor.accountId !== input.accountId) requireAdmin(actor, "Creating another account's user");
    const username = validateName('username', input.username, 128);
    if (input.password !== undefined && (typeof input.password !== 'string' || input.password.length < 8)) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'password',
        reason: 'must be at least 8 characters',
      });
    }
    const hash = input.password === undefined ? null : await hashPassword(input.password);
    const rows = await this.db
      .query('INSERT INTO users (id, account_id, username, password_hash) VALUES ($1,$2,$3,$4) RETURNING *', [
        newId('user'),
        input.accountId,
        username,
        hash,
      ])
      .catch((e: unknown) => uniqueAsExists(e, 'user', username));
    return toUser(rows[0] ?? {});
  }

  async listUsers(actor: Actor, f: ListQuery & { accountId?: string } = {}): Promise<Page<User>> {
    const where = new Where().scope(actor, 't.account_id', f.accountId);
    return listPage(this.db, { columns: 't.*', from: 'users t', where }, f, toUser);
  }

  /** Issues a key for a user of the caller's account (or any account, for an admin). */
  async createApiKey(actor: Actor, input: { userId?: string } = {}): Promise<ApiKeyWithSecret> {
    const userId = input.userId ?? actor.userId;
    if (!userId) throw new StrataError('INVALID_ARGUMENT', { field: 'userId', reason: 'is required' });
    const user = (await this.db.query('SELECT * FROM users WHERE id = $1', [userId]))[0];
    if (!user) throw new StrataError('NOT_FOUND', { kind: 'user', id: userId });
    ensureVisible(actor, 'user', userId, String(user['account_id']));
    const apiKey = randomSecret(24);
    const secretKey = randomSecret(32);
    const rows = await this.secrets.sealing(this.db, async (tx, seal) =>
      tx.query(
        `INSERT INTO api_keys (api_key, user_id, secret) VALUES ($1,$2,$3) RETURNING *, $4::text AS account_id`,
        [apiKey, userId, seal(secretKey, apiKeySecretContext(apiKey)), user['account_id']],
      ),
    );
    return { ...toKey(rows[0] ?? {}), secretKey };
  }

  async listApiKeys(
    actor: Actor,
    f: ListQuery & { accountId?: string; userId?: string } = {},
  ): Promise<Page<ApiKey>> {
    const where = new Where().scope(actor, 'u.account_id', f.accountId).eq('t.user_id', f.userId);
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

  async revokeApiKey(actor: Actor, apiKey: string): Promise<ApiKey> {
    const row = (
      await this.db.query(
        'SELECT k.*, u.account_id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.api_key = $1',
        [apiKey],
      )
    )[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'api key', id: apiKey });
    ensureVisible(actor, 'api key', apiKey, String(row['account_id']));
    await this.db.query('UPDATE api_keys SET revoked_at = now() WHERE api_key = $1 AND revoked_at IS NULL', [
      apiKey,
    ]);
    return { ...toKey(row), revokedAt: new Date().toISOString() };
  }

  /** For authentication: the secret and principal of a live key, or null. */
  async lookupApiKey(apiKey: string): Promise<(Principal & { secretKey: string }) | null> {
    const row = (
      await this.db.query(
        `SELECT k.secret, u.id AS user_id, a.id AS account_id, a.role FROM api_keys k
         JOIN users u ON u.id = k.user_id JOIN accounts a ON a.id = u.account_id
         WHERE k.api_key = $1 AND k.revoked_at IS NULL`,
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

  /** For login: the password hash and principal of a user, or null. */
  async lookupUser(username: string): Promise<(Principal & { passwordHash: string | null }) | null> {
    const row = (
      await this.db.query(
        `SELECT u.id AS user_id, u.password_hash, a.id AS account_id, a.role FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.username = $1`,
        [username],
      )
    )[0];
    if (!row) return null;
    return {
      userId: String(row['user_id']),
      accountId: String(row['account_id']),
      role: row['role'] as Role,
      passwordHash: (row['password_hash'] as string | null) ?? null,
    };
  }
}
