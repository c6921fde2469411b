import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { isAdmin, type Actor } from './actor.js';

/** Builds a WHERE clause with numbered parameters; never interpolates values. */
export class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  /** Adds `column = value` when value is given. */
  eq(column: string, value: unknown): this {
    if (value !== undefined && value !== null && value !== '') this.add(`${column} = ${this.param(value)}`);
    return this;
  }

  /** Adds a raw clause where `?` marks are replaced by the given parameters in order. */
  add(clause: string, ...values: unknown[]): this {
    let i = 0;
    this.clauses.push(clause.replace(/\?/g, () => this.param(values[i++])));
    return this;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Non-admins see only their account; admins may narrow to one account. */
  scope(actor: Actor, column: string, accountFilter?: string): this {
    return isAdmin(actor) ? this.eq(column, accountFilter) : this.eq(column, actor.accountId);
  }

  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** Cursor pagination (preferred, stable under inserts) or page/pageSize (CloudStack's style). */
/** A hook that runs inside a service's creating transaction. */
export type Within<T> = (tx: Queryable, created: T) => Promise<unknown>;

export interface ListQuery {
  readonly limit?: number;
  /** Also count every match (CloudStack's `count`); costs a scan, so off by default. */
  readonly withTotal?: boolean;
  readonly cursor?: string;
  readonly page?: number;
  readonly pageSize?: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
  /** Every match, when asked for with `withTotal`. */
  readonly total?: number;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** Offset paging past this page is refused: the offset must stay a sane bigint. */
export const MAX_PAGE = 1_000_000;

/** `created_at::text` as PostgreSQL and PGlite print it (`2026-12-07 01:20:43.123456+00`). */
const CURSOR_TS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)$/;
const CURSOR_ID: Record<'text' | 'bigint', RegExp> = {
  text: /^[A-Za-z0-9_.:-]{1,128}$/,
  bigint: /^\d{1,18}$/,
};

/**
 * A cursor is decoded and checked in full here: a forged one (a timestamp PostgreSQL cannot read,
 * an id of the wrong type) must be INVALID_ARGUMENT, never a database error.
 */
function decodeCursor(cursor: string, idType: 'text' | 'bigint'): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      CURSOR_TS.test(value[0]) &&
      !Number.isNaN(Date.parse(value[0].replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'))) &&
      CURSOR_ID[idType].test(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through to the coded error
  }
  throw new StrataError('INVALID_ARGUMENT', {
    field: 'cursor',
    reason: 'is not a cursor this server issued',
  });
}

function checkLimit(field: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: `must be a whole number from 1 to ${MAX_LIMIT}`,
    });
  }
  return value;
}

export interface ListSpec {
  readonly columns: string;
  /** FROM clause with the main table aliased as `t`. */
  readonly from: string;
  readonly where: Where;
  /** `bigint` when the id column is numeric (events). */
  readonly idType?: 'text' | 'bigint';
  /** Key column that breaks created_at ties; default `t.id`. */
  readonly idColumn?: string;
}

/**
 * One page in (created_at, id) order, by keyset: the row comparison uses the (created_at, id)
 * indexes, so a page costs the same at row 100,000 as at row 1.
 */
export async function listPage<R>(
  db: Queryable,
  spec: ListSpec,
  q: ListQuery,
  map: (row: Record<string, unknown>) => R,
): Promise<Page<R>> {
  const where = spec.where;
  const total = q.withTotal ? await countRows(db, spec.from, where) : undefined;
  const idType = spec.idType ?? 'text';
  const idColumn = spec.idColumn ?? 't.id';
  let offset = 0;
  let limit: number;
  if (q.page !== undefined) {
    limit = checkLimit('pageSize', q.pageSize);
    if (!Number.isInteger(q.page) || q.page < 1 || q.page > MAX_PAGE)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'page',
        reason: `must be a whole number from 1 to ${MAX_PAGE}`,
      });
    offset = (q.page - 1) * limit;
  } else {
    limit = checkLimit('limit', q.limit);
    if (q.cursor) {
      const [ts, id] = decodeCursor(q.cursor, idType);
      where.add(`(t.created_at, ${idColumn}) > (?::timestamptz, ?::${idType})`, ts, id);
    }
  }
  const sql = `SELECT ${spec.columns}, t.created_at::text AS cursor_ts, ${idColumn}::text AS cursor_id FROM ${spec.from} ${where.sql()}
    ORDER BY t.created_at, ${idColumn} LIMIT ${limit + 1} OFFSET ${offset}`;
  const rows = await db.query(sql, where.params);
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  const nextCursor =
    more && last && q.page === undefined
      ? Buffer.from(JSON.stringify([String(last['cursor_ts']), String(last['cursor_id'])])).toString(
          'base64url',
        )
      : null;
  return total === undefined
    ? { items: pageRows.map(map), nextCursor }
    : { items: pageRows.map(map), nextCursor, total };
}

/** Counts rows matching a filter (CloudStack's `count`); separate so lists stay cheap. */
export async function countRows(db: Queryable, from: string, where: Where): Promise<number> {
  const rows = await db.query<{ n: number | string }>(
    `SELECT count(*) AS n FROM ${from} ${where.sql()}`,
    where.params,
  );
  return Number(rows[0]?.n ?? 0);
}

export function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

/** A text column, '' when NULL. */
export function text(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === null || value === undefined
      ? ''
      : JSON.stringify(value);
}

export function num(value: unknown): number {
  return Number(value);
}

/** Maps a unique-violation to ALREADY_EXISTS; rethrows anything else. */
export function uniqueAsExists(e: unknown, kind: string, name: string): never {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === '23505') throw new StrataError('ALREADY_EXISTS', { kind, name });
  throw e;
}
