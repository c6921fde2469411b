import { createTestDatabase } from './test-database.js';

/**
 * Which database the whole-stack tests (a server with its agent, the CLI, the demo) run on:
 * `STRATA_TEST_DATABASE=postgres` puts each on a fresh database of the test PostgreSQL server;
 * unset or `pglite`, each keeps the embedded default. The suites over the server's database
 * itself run on both in every run (TEST_DATABASES in the server package).
 */
export function stackOnPostgres(): boolean {
  const chosen = process.env['STRATA_TEST_DATABASE'] ?? 'pglite';
  if (chosen !== 'pglite' && chosen !== 'postgres')
    throw new Error(`STRATA_TEST_DATABASE must be pglite or postgres, not ${chosen}`);
  return chosen === 'postgres';
}

/** `fallback` (the embedded default), or a fresh PostgreSQL database when the run asks for one. */
export async function stackDatabaseUrl(fallback: string, prefix = 'stack'): Promise<string> {
  return stackOnPostgres() ? createTestDatabase(prefix) : fallback;
}
