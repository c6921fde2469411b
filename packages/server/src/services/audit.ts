import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import { isSecretDetail } from './secret-details.js';
import { Where, iso, listPage, type ListQuery, type Page } from './sql.js';

/** What the audit trail records (docs/security.md, "Audit trail"). */
export const AUDIT_KINDS = [
  'auth.failed',
  'role.changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'api-key.created',
  'api-key.revoked',
  'agent.refused',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** Plain facts only: a detail named like a secret (`*key`, `*password`, ...) is refused. */
export type AuditDetails = Readonly<Record<string, string | number | boolean | null>>;

export interface AuditInput {
  readonly kind: AuditKind;
  /**
   * How the request came: the caller's `via` (`api-key`, `session`, `system`) for an action, the
   * door that refused it for a failure (`login`, `session-token`, `rest-signature`,
   * `cloudstack-signature`, `agent-registration`, `agent-hello`).
   */
  readonly via: string;
  /** The error code of a failure. */
  readonly code?: string | null;
  readonly actor?: Pick<Actor, 'accountId' | 'userId'> | null;
  /** The account the event concerns (the target's), for filtering. */
  readonly accountId?: string | null;
  readonly target?: { readonly type: string; readonly id: string } | null;
  readonly remoteAddress?: string | null;
  readonly details?: AuditDetails;
}

export interface AuditEvent {
  readonly id: string;
  readonly kind: AuditKind;
  readonly via: string;
  readonly code: string | null;
  readonly actorAccountId: string | null;
  readonly actorUserId: string | null;
  readonly accountId: string | null;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly remoteAddress: string | null;
  readonly details: AuditDetails;
  readonly createdAt: string;
}

export interface AuditFilter extends ListQuery {
  readonly kind?: string;
  readonly accountId?: string;
  /** ISO 8601 times: events at or after `since` and before `until`. */
  readonly since?: string;
  readonly until?: string;
}

// Text columns; the id is a bigint, which drivers give as a string or a number.
const nullable = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : null;

function toAuditEvent(r: Record<string, unknown>): AuditEvent {
  return {
    id: nullable(r['id']) ?? '',
    kind: r['kind'] as AuditKind,
    via: String(r['via']),
    code: nullable(r['code']),
    actorAccountId: nullable(r['actor_account_id']),
    actorUserId: nullable(r['actor_user_id']),
    accountId: nullable(r['account_id']),
    targetType: nullable(r['target_type']),
    targetId: nullable(r['target_id']),
    remoteAddress: nullable(r['remote_address']),
    details: (typeof r['details'] === 'string' ? JSON.parse(r['details']) : r['details']) as AuditDetails,
    createdAt: iso(r['created_at']),
  };
}

function time(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // A time needs its zone: one without would be read in the server's local time.
  if (
    !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ||
    Number.isNaN(Date.parse(value))
  )
    throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must be an ISO 8601 time' });
  return new Date(value).toISOString();
}

/**
 * Security-relevant events: failed authentication, role changes, API keys issued and revoked.
 * Kept apart from the resource events (`events`): they outlive what they name, and only an
 * operator reads them. Never a secret: the API key id (public half) at most, no password, no
 * signature, no token, and a username only when it names a real user.
 */
export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async record(input: AuditInput, q: Queryable = this.db): Promise<void> {
    const details = input.details ?? {};
    const secretLike = Object.keys(details).find(isSecretDetail);
    if (secretLike !== undefined)
      throw new StrataError('INTERNAL', { reason: `audit detail ${secretLike} is named like a secret` });
    await q.query(
      `INSERT INTO audit_events (kind, via, code, actor_account_id, actor_user_id, account_id, target_type,
         target_id, remote_address, details) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
      [
        input.kind,
        input.via,
        input.code ?? null,
        input.actor?.accountId ?? null,
        input.actor?.userId ?? null,
        input.accountId ?? null,
        input.target?.type ?? null,
        input.target?.id ?? null,
        input.remoteAddress ?? null,
        JSON.stringify(details),
      ],
    );
  }

  /** Operator only; oldest first, like every list (a cursor pages forward). */
  async list(actor: Actor, f: AuditFilter = {}): Promise<Page<AuditEvent>> {
    requireAdmin(actor, 'Reading the audit trail');
    if (f.kind !== undefined && !(AUDIT_KINDS as readonly string[]).includes(f.kind))
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'kind',
        reason: `must be one of ${AUDIT_KINDS.join(', ')}`,
      });
    const since = time('since', f.since);
    const until = time('until', f.until);
    const where = new Where().eq('t.kind', f.kind).eq('t.account_id', f.accountId);
    if (since) where.add('t.created_at >= ?::timestamptz', since);
    if (until) where.add('t.created_at < ?::timestamptz', until);
    return listPage(
      this.db,
      { columns: 't.*', from: 'audit_events t', where, idType: 'bigint' },
      f,
      toAuditEvent,
    );
  }
}
