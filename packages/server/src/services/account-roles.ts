import { StrataError, isRole, ROLES, type Account } from '@strata/core';
import type { Database } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import { effectiveRole } from './members.js';
import { iso } from './sql.js';
import { ROLE_CHANGE_LOCK } from './user-roles.js';

/**
 * An account's role as a whole, as CloudStack's `updateAccount roleid=` sets an account's type:
 * the account takes the role and every user of it follows (own roles are cleared), so the
 * account's users all hold what its account type says. Operator only; the last operator keeps
 * its role; every user whose role changes is an audit event, with the account's own.
 */
export class AccountRoleService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  async setRole(actor: Actor, accountId: string, role: unknown): Promise<Account> {
    requireAdmin(actor, "Changing an account's role");
    if (!isRole(role))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'role',
        reason: `must be one of ${ROLES.join(', ')}`,
      });
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_CHANGE_LOCK]);
      const account = (await tx.query('SELECT * FROM accounts WHERE id = $1 FOR UPDATE', [accountId]))[0];
      if (!account) throw new StrataError('NOT_FOUND', { kind: 'account', id: accountId });
      const users = await tx.query(
        `SELECT u.id, ${effectiveRole()} AS role FROM users u JOIN accounts a ON a.id = u.account_id
         WHERE u.account_id = $1 ORDER BY u.id`,
        [accountId],
      );
      const changed = users.filter((u) => u['role'] !== role);
      const operator = role === 'admin' ? undefined : changed.find((u) => u['role'] === 'admin');
      if (operator) {
        const others = await tx.query(
          `SELECT 1 FROM users u JOIN accounts a ON a.id = u.account_id
             WHERE ${effectiveRole()} = 'admin' AND u.account_id <> $1 LIMIT 1`,
          [accountId],
        );
        if (others.length === 0)
          throw new StrataError('AUTH_LAST_OPERATOR', { userId: String(operator['id']) });
      }
      const from = String(account['role']);
      await tx.query('UPDATE accounts SET role = $2 WHERE id = $1', [accountId, role]);
      await tx.query('UPDATE users SET role = NULL WHERE account_id = $1', [accountId]);
      const events = [
        ...(from !== role ? [{ type: 'account', id: accountId, from }] : []),
        ...changed.map((u) => ({ type: 'user', id: String(u['id']), from: String(u['role']) })),
      ];
      for (const e of events)
        await this.audit.record(
          {
            kind: 'role.changed',
            via: actor.via,
            actor,
            accountId,
            target: { type: e.type, id: e.id },
            details: { from: e.from, to: role },
          },
          tx,
        );
      return {
        id: accountId,
        name: String(account['name']),
        role: role,
        createdAt: iso(account['created_at']),
      };
    });
  }
}
