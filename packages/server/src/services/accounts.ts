import {
  StrataError,
  isRole,
  managementRefusal,
  validateName,
  type Account,
  type AccountRole,
  type Role,
} from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import { hashPassword } from '../auth/passwords.js';
import { requireAdmin, ensureVisible, enforce, type Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import { effectiveRole } from './members.js';
import { Where, iso, listPage, uniqueAsExists, type ListQuery, type Page } from './sql.js';

export interface User {
  readonly id: string;
  readonly accountId: string;
  readonly username: string;
  /** Its own role if one was given, else its account's. */
  readonly role: Role;
  /** When it was disabled (no login, its sessions and keys refused); null while enabled. */
  readonly disabledAt: string | null;
  /** As given (CloudStack's firstname, lastname, email, timezone); null when not. */
  readonly profile: UserProfile;
  readonly createdAt: string;
}

export interface UserProfile {
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly email: string | null;
  readonly timezone: string | null;
}

const PROFILE_COLUMNS: Readonly<Record<keyof UserProfile, string>> = {
  firstName: 'first_name',
  lastName: 'last_name',
  email: 'email',
  timezone: 'timezone',
};

/** Each given field validated as a name (no control characters, at most 255); '' clears it. */
function profileOf(input: Partial<UserProfile>): Partial<UserProfile> {
  const out: Record<string, string | null> = {};
  for (const key of Object.keys(PROFILE_COLUMNS) as Array<keyof UserProfile>) {
    const v = input[key];
    if (v === undefined) continue;
    out[key] = v === null || v === '' ? null : validateName(key, v);
  }
  return out;
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
  role: r['role'] as AccountRole,
  createdAt: iso(r['created_at']),
});

/** Reads rows of USER_FROM (`effective_role` from the join). */
const toUser = (r: Record<string, unknown>): User => ({
  id: String(r['id']),
  accountId: String(r['account_id']),
  username: String(r['username']),
  role: r['effective_role'] as Role,
  disabledAt: r['disabled_at'] ? iso(r['disabled_at']) : null,
  profile: {
    firstName: (r['first_name'] as string | null) ?? null,
    lastName: (r['last_name'] as string | null) ?? null,
    email: (r['email'] as string | null) ?? null,
    timezone: (r['timezone'] as string | null) ?? null,
  },
  createdAt: iso(r['created_at']),
});

/** Users with their effective role; the user table is `t` (paging), its account `a`. */
const USER_COLUMNS = `t.*, ${effectiveRole('t')} AS effective_role`;
const USER_FROM = 'users t JOIN accounts a ON a.id = t.account_id';

/**
 * The account a new resource belongs to: an operator may name any existing one, everyone else
 * gets its own (a name they give is ignored, as before). NOT_FOUND for an account that does not exist.
 */
export async function ownerAccount(
  q: Queryable,
  actor: Actor,
  requested: string | undefined,
): Promise<string> {
  if (actor.role !== 'admin' || !requested) return actor.accountId;
  if (
    typeof requested !== 'string' ||
    (await q.query('SELECT 1 FROM accounts WHERE id = $1', [requested])).length === 0
  )
    throw new StrataError('NOT_FOUND', { kind: 'account', id: String(requested) });
  return requested;
}

/** One user with its effective role, unchecked: callers check visibility. */
export async function readUser(q: Queryable, id: string): Promise<User | null> {
  const row = (await q.query(`SELECT ${USER_COLUMNS} FROM ${USER_FROM} WHERE t.id = $1`, [id]))[0];
  return row ? toUser(row) : null;
}

/** Accounts (tenants) and their users (console logins); API keys are in api-keys.ts. */
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
    private readonly audit: AuditLog,
  ) {}

  async create(actor: Actor, input: { name: string; role?: AccountRole }): Promise<Account> {
    requireAdmin(actor, 'Creating an account');
    const name = validateName('name', input.name, 128);
    const role = input.role ?? 'user';
    if (!isRole(role))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'role',
        reason: 'must be admin, account-admin or user',
      });
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

  /**
   * Adds a user to an account: an operator to any, an account admin to its own (`role` at most
   * account-admin), a user never. Without `role` the user holds its account's role.
   */
  async createUser(
    actor: Actor,
    input: {
      accountId: string;
      username: string;
      password?: string;
      role?: Role;
      profile?: Partial<UserProfile>;
    },
  ): Promise<User> {
    const account = await this.get(actor, input.accountId);
    if (input.role !== undefined && !isRole(input.role))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'role',
        reason: 'must be admin, account-admin or user',
      });
    const role = input.role ?? account.role;
    enforce(
      managementRefusal(
        actor,
        { accountId: account.id, role, userId: null },
        { action: 'Creating a user', grant: role },
      ),
      'account',
      account.id,
    );
    const username = validateName('username', input.username, 128);
    if (input.password !== undefined && (typeof input.password !== 'string' || input.password.length < 8)) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'password',
        reason: 'must be at least 8 characters',
      });
    }
    const hash = input.password === undefined ? null : await hashPassword(input.password);
    const profile = profileOf(input.profile ?? {});
    const id = newId('user');
    await this.db.transaction(async (tx) => {
      await tx
        .query(
          `INSERT INTO users (id, account_id, username, password_hash, role, first_name, last_name, email, timezone)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
          [
            id,
            input.accountId,
            username,
            hash,
            input.role ?? null,
            profile.firstName ?? null,
            profile.lastName ?? null,
            profile.email ?? null,
            profile.timezone ?? null,
          ],
        )
        .catch((e: unknown) => uniqueAsExists(e, 'user', username));
      // A role given at creation is a grant like any other: the trail shows who gave it.
      if (input.role !== undefined)
        await this.audit.record(
          {
            kind: 'role.changed',
            via: actor.via,
            actor,
            accountId: account.id,
            target: { type: 'user', id },
            details: { from: null, to: input.role },
          },
          tx,
        );
    });
    return this.getUser(actor, id);
  }

  async getUser(actor: Actor, id: string): Promise<User> {
    const user = await readUser(this.db, id);
    if (!user) throw new StrataError('NOT_FOUND', { kind: 'user', id });
    ensureVisible(actor, 'user', id, user.accountId);
    // A user sees itself only, as in listUsers.
    if (actor.role === 'user' && actor.userId !== id)
      throw new StrataError('NOT_FOUND', { kind: 'user', id });
    return user;
  }

  /**
   * Changes a user's name, e-mail or time zone: the user itself, its account's account admin, or
   * an operator (whoever may see the user may change these; roles and passwords go elsewhere).
   */
  async updateUser(actor: Actor, id: string, input: Partial<UserProfile>): Promise<User> {
    const user = await this.getUser(actor, id);
    if (actor.role !== 'admin' && actor.userId !== id && actor.role !== 'account-admin')
      throw new StrataError('NOT_FOUND', { kind: 'user', id });
    const profile = profileOf(input);
    const keys = Object.keys(profile) as Array<keyof UserProfile>;
    if (keys.length === 0) return user;
    const sets = keys.map((k, i) => `${PROFILE_COLUMNS[k]} = $${i + 2}`).join(', ');
    await this.db.query(`UPDATE users SET ${sets} WHERE id = $1`, [
      id,
      ...keys.map((k) => profile[k] ?? null),
    ]);
    return this.getUser(actor, id);
  }

  /** An operator lists anyone, an account admin its account's users, a user only itself. */
  async listUsers(
    actor: Actor,
    f: ListQuery & { accountId?: string; role?: string; username?: string } = {},
  ): Promise<Page<User>> {
    const where = new Where()
      .scope(actor, 't.account_id', f.accountId)
      .eq(effectiveRole('t'), f.role)
      .eq('t.username', f.username);
    if (actor.role === 'user') where.add('t.id = ?', actor.userId ?? '');
    return listPage(this.db, { columns: USER_COLUMNS, from: USER_FROM, where }, f, toUser);
  }

  /** For login: the password hash and principal of a user, or null. */
  async lookupUser(username: string): Promise<(Principal & { passwordHash: string | null }) | null> {
    const row = (
      await this.db.query(
        `SELECT u.id AS user_id, u.password_hash, a.id AS account_id, ${effectiveRole()} AS role
         FROM users u JOIN accounts a ON a.id = u.account_id
         WHERE u.username = $1 AND u.disabled_at IS NULL`,
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
