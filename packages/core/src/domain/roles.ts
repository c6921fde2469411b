import type { Role } from './entities.js';

export const ROLES: readonly Role[] = ['admin', 'account-admin', 'user'];

/** Higher manages lower: nobody acts on, or hands out, a role above its own. */
const RANK: Readonly<Record<Role, number>> = { user: 0, 'account-admin': 1, admin: 2 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Someone in an account: the caller, or the user it acts on. */
export interface Member {
  readonly role: Role;
  readonly accountId: string;
  readonly userId: string | null;
}

/**
 * Why a user-management action is refused. `another-account` is answered as NOT_FOUND (a tenant
 * learns nothing about other accounts' users); `needs-role` as AUTH_FORBIDDEN naming `role`.
 */
export type Refusal =
  | { readonly reason: 'another-account' }
  | { readonly reason: 'needs-role'; readonly role: Role; readonly action: string };

/**
 * Whether `actor` may manage `target`: create it, change its role (to `grant`), issue or revoke
 * its API keys (`ownKeys`: the one thing a plain user may do, to itself). Null when allowed.
 * An operator manages everyone; an account admin its own account's users but not an operator
 * among them, and never grants the operator role.
 */
export function managementRefusal(
  actor: Member,
  target: Member,
  what: { readonly action: string; readonly grant?: Role; readonly ownKeys?: boolean },
): Refusal | null {
  if (actor.role === 'admin') return null;
  if (actor.accountId !== target.accountId) return { reason: 'another-account' };
  if (what.ownKeys && actor.userId !== null && actor.userId === target.userId) return null;
  const needed = Math.max(RANK['account-admin'], RANK[target.role], what.grant ? RANK[what.grant] : 0);
  if (RANK[actor.role] >= needed) return null;
  const role = ROLES.find((r) => RANK[r] === needed) ?? 'admin';
  return { reason: 'needs-role', role, action: what.action };
}
