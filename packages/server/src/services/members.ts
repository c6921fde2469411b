import { StrataError, type Member, type Role } from '@strata/core';
import type { Queryable } from '../db/index.js';

/** SQL for a user's role: its own when set, else its account's (migration 009). */
export function effectiveRole(users = 'u', accounts = 'a'): string {
  return `COALESCE(${users}.role, ${accounts}.role)`;
}

/** A user as role checks see it; NOT_FOUND when there is none. `lock` holds its row for a change. */
export async function memberOf(
  q: Queryable,
  userId: string,
  lock = false,
): Promise<Member & { userId: string }> {
  const row = (
    await q.query(
      `SELECT u.id, u.account_id, ${effectiveRole()} AS role FROM users u JOIN accounts a ON a.id = u.account_id
       WHERE u.id = $1${lock ? ' FOR UPDATE OF u' : ''}`,
      [userId],
    )
  )[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'user', id: userId });
  return { userId: String(row['id']), accountId: String(row['account_id']), role: row['role'] as Role };
}
