import { StrataError, isRole, managementRefusal, ROLES, type Member, type Role } from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import { enforce, type Actor } from './actor.js';
import { readUser, type User } from './accounts.js';
import type { AuditLog } from './audit.js';
import { effectiveRole, memberOf } from './members.js';

/** Serialises role changes: two operators demoting each other at once must not leave none. */
export const ROLE_CHANGE_LOCK = 5_170_009;

/**
 * Role changes: an operator gives any role; an account admin moves its own account's users
 * between user and account admin, never to or from operator (core `managementRefusal`). The
 * last operator keeps its role. Every change is an audit event, in the same transaction.
 */
export class UserRoleService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  /** Answers the user as it now is; giving a user the role it holds changes and records nothing. */
  async setRole(actor: Actor, userId: string, role: unknown): Promise<User> {
    if (!isRole(role))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'role',
        reason: `must be one of ${ROLES.join(', ')}`,
      });
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_CHANGE_LOCK]);
      const target = await memberOf(tx, userId, true);
      enforce(
        managementRefusal(actor, target, { action: `Giving a user the ${role} role`, grant: role }),
        'user',
        userId,
      );
      if (target.role !== role) await this.change(tx, actor, target, role);
      const user = await readUser(tx, userId);
      if (!user) throw new StrataError('NOT_FOUND', { kind: 'user', id: userId });
      return user;
    });
  }

  /**
   * Disables a user (its logins, sessions and API keys are refused from now on; its sessions are
   * ended) or enables it again. Who may is who may give it its role; the last operator stays.
   */
  async setDisabled(actor: Actor, userId: string, disabled: boolean): Promise<User> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_CHANGE_LOCK]);
      const target = await memberOf(tx, userId, true);
      const action = `${disabled ? 'Disabling' : 'Enabling'} a user`;
      enforce(managementRefusal(actor, target, { action, grant: target.role }), 'user', userId);
      const before = await readUser(tx, userId);
      if (before && (before.disabledAt !== null) !== disabled) {
        if (disabled && target.role === 'admin') await this.notLastOperator(tx, userId);
        await tx.query('UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END WHERE id = $1', [
          userId,
          disabled,
        ]);
        if (disabled) await tx.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
        await this.audit.record(
          {
            kind: disabled ? 'user.disabled' : 'user.enabled',
            via: actor.via,
            actor,
            accountId: target.accountId,
            target: { type: 'user', id: userId },
          },
          tx,
        );
      }
      const user = await readUser(tx, userId);
      if (!user) throw new StrataError('NOT_FOUND', { kind: 'user', id: userId });
      return user;
    });
  }

  /**
   * Deletes a user with its sessions and API keys (the resources it made are its account's and
   * stay). Who may is who may give it its role; the last operator stays, and nobody deletes itself.
   */
  async remove(actor: Actor, userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_CHANGE_LOCK]);
      const target = await memberOf(tx, userId, true);
      enforce(
        managementRefusal(actor, target, { action: 'Deleting a user', grant: target.role }),
        'user',
        userId,
      );
      if (actor.userId === userId)
        throw new StrataError('CONFLICT', { reason: 'a user cannot delete itself' });
      if (target.role === 'admin') await this.notLastOperator(tx, userId);
      await tx.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
      await tx.query('DELETE FROM api_keys WHERE user_id = $1', [userId]);
      await tx.query('DELETE FROM users WHERE id = $1', [userId]);
      await this.audit.record(
        {
          kind: 'user.deleted',
          via: actor.via,
          actor,
          accountId: target.accountId,
          target: { type: 'user', id: userId },
        },
        tx,
      );
    });
  }

  /** AUTH_LAST_OPERATOR unless another enabled user is an operator. */
  private async notLastOperator(tx: Queryable, userId: string): Promise<void> {
    const others = await tx.query(
      `SELECT 1 FROM users u JOIN accounts a ON a.id = u.account_id
         WHERE ${effectiveRole()} = 'admin' AND u.id <> $1 AND u.disabled_at IS NULL LIMIT 1`,
      [userId],
    );
    if (others.length === 0) throw new StrataError('AUTH_LAST_OPERATOR', { userId });
  }

  private async change(
    tx: Queryable,
    actor: Actor,
    target: Member & { userId: string },
    role: Role,
  ): Promise<void> {
    const userId = target.userId;
    if (target.role === 'admin') {
      const others = await tx.query(
        `SELECT 1 FROM users u JOIN accounts a ON a.id = u.account_id
           WHERE ${effectiveRole()} = 'admin' AND u.id <> $1 LIMIT 1`,
        [userId],
      );
      if (others.length === 0) throw new StrataError('AUTH_LAST_OPERATOR', { userId });
    }
    await tx.query('UPDATE users SET role = $2 WHERE id = $1', [userId, role]);
    await this.audit.record(
      {
        kind: 'role.changed',
        via: actor.via,
        actor,
        accountId: target.accountId,
        target: { type: 'user', id: userId },
        details: { from: target.role, to: role },
      },
      tx,
    );
  }
}
