import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { LoginThrottle } from '../limits/login-throttle.js';
import type { AccountService, Principal } from '../services/accounts.js';
import type { AuditLog } from '../services/audit.js';
import { effectiveRole } from '../services/members.js';
import { hashToken, randomSecret, verifyPassword } from './passwords.js';

export interface Session {
  readonly token: string;
  readonly expiresAt: string;
  readonly userId: string;
  readonly accountId: string;
  readonly role: Principal['role'];
}

/** Web console sessions: username + password (scrypt) for a bearer token stored only as a hash. */
export class SessionStore {
  constructor(
    private readonly db: Queryable,
    private readonly accounts: AccountService,
    private readonly audit: AuditLog,
    private readonly ttlMs = 12 * 3600_000,
    private readonly throttle = new LoginThrottle(),
  ) {}

  /**
   * AUTH_BAD_CREDENTIALS, or RATE_LIMITED while the name must wait after failures
   * (docs/security.md). A failure is an audit event naming the user only when it exists: a
   * mistyped username may be a password typed in the wrong field, and is not kept.
   */
  async login(username: string, password: string, remoteAddress?: string): Promise<Session> {
    return this.throttle.attempt(username, () => this.check(username, password, remoteAddress));
  }

  private async check(username: string, password: string, remoteAddress?: string): Promise<Session> {
    const user = await this.accounts.lookupUser(username);
    // A missing user costs the same scrypt as a wrong password: no timing hint of which it was.
    const ok = await verifyPassword(
      password,
      user?.passwordHash ??
        'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    );
    if (!user || !user.passwordHash || !ok) {
      await this.audit
        .record({
          kind: 'auth.failed',
          via: 'login',
          code: 'AUTH_BAD_CREDENTIALS',
          accountId: user?.accountId ?? null,
          target: user ? { type: 'user', id: user.userId } : null,
          remoteAddress: remoteAddress ?? null,
        })
        .catch(() => undefined); // the refusal stands even if the trail cannot be written
      throw new StrataError('AUTH_BAD_CREDENTIALS');
    }
    const token = randomSecret(32);
    const expiresAt = new Date(Date.now() + this.ttlMs);
    await this.db.query('INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1,$2,$3)', [
      hashToken(token),
      user.userId,
      expiresAt.toISOString(),
    ]);
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      userId: user.userId,
      accountId: user.accountId,
      role: user.role,
    };
  }

  async resolve(token: string): Promise<Principal> {
    const row = (
      await this.db.query(
        // The user's own role when it has one (a demoted operator must not keep its account's role).
        `SELECT u.id AS user_id, a.id AS account_id, ${effectiveRole()} AS role FROM sessions s JOIN users u ON u.id = s.user_id
         JOIN accounts a ON a.id = u.account_id WHERE s.token_hash = $1 AND s.expires_at > now()
         AND u.disabled_at IS NULL`,
        [hashToken(token)],
      )
    )[0];
    if (!row)
      throw new StrataError('AUTH_UNAUTHENTICATED', { reason: 'the session token is unknown or expired' });
    return {
      userId: String(row['user_id']),
      accountId: String(row['account_id']),
      role: row['role'] as Principal['role'],
    };
  }

  async logout(token: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [hashToken(token)]);
  }
}
