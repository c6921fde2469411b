import { randomBytes } from 'node:crypto';

/**
 * Ids are `<prefix>-<time><random>`: readable in logs, and roughly ordered by creation so
 * indexes stay compact.
 */
export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
