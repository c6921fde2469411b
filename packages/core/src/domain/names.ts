import { StrataError } from '../errors/strata-error.js';

/**
 * User-given names may hold any printable character (quotes, angle brackets, spaces, shell
 * metacharacters): they are escaped where used, never rejected for that. Control characters and
 * absurd lengths are refused.
 */
export function validateName(field: string, value: unknown, maxLength = 255): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must be a non-empty string' });
  }
  if (value.length > maxLength) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: `must be at most ${maxLength} characters` });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must not contain control characters' });
  }
  return value;
}

/** Escapes text for XML element content and attribute values. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
