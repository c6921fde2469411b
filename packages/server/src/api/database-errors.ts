import { StrataError } from '@strata/core';

/** A PostgreSQL (or PGlite) error: a five-character SQLSTATE in `code`. */
function sqlState(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  const severity = (e as { severity?: unknown } | null)?.severity;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : null;
}

/**
 * The last net under the services: a database error that reached an answer. Input the services
 * failed to check (a reference to a row that does not exist, a value out of a column's range) is
 * the caller's error, 4xx; anything else is INTERNAL. Never the database's own text: it names
 * tables, columns and constraints (docs/security.md); the server log keeps it.
 */
export function fromDatabaseError(e: unknown): StrataError | null {
  const state = sqlState(e);
  if (state === null) return null;
  if (state === '23503')
    return new StrataError('INVALID_ARGUMENT', {
      field: 'reference',
      reason: 'names something that does not exist',
    });
  if (state === '23505') return new StrataError('CONFLICT', { reason: 'it exists already' });
  if (state.startsWith('22') || state.startsWith('23'))
    return new StrataError('INVALID_ARGUMENT', {
      field: 'request',
      reason: 'holds a value out of range or of the wrong form',
    });
  return new StrataError('INTERNAL', { reason: 'a database error; the server log has it' }, { cause: e });
}
