import { errorRegistry } from '@strata/core/errors/registry';

/** What to do about a coded error, from the error registry (docs/errors.md); null for a code it lacks. */
export function hintFor(code: string): string | null {
  return errorRegistry.get(code)?.recovery ?? null;
}
