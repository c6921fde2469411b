import { createTestDatabase, dropTestDatabase, ensurePostgres } from '@strata/testing';

/** A database for one test suite, and how to drop it afterwards. */
export interface TestDatabase {
  readonly url: string;
  readonly drop: () => Promise<void>;
}

/**
 * The two databases Strata runs on, for suites that run once on each: PGlite in memory (the
 * embedded default) and a fresh database on the test PostgreSQL server.
 */
export const TEST_DATABASES: ReadonlyArray<{
  readonly name: string;
  readonly open: () => Promise<TestDatabase>;
}> = [
  { name: 'PGlite', open: () => Promise.resolve({ url: 'memory:', drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    open: async () => {
      await ensurePostgres();
      const url = await createTestDatabase('suite');
      return { url, drop: () => dropTestDatabase(url) };
    },
  },
];
