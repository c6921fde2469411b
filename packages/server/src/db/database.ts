/** Something that runs SQL: the database itself, or one transaction of it. One dialect: PostgreSQL. */
export interface Queryable {
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Inside a transaction: runs `fn` once the transaction has committed (never on rollback), so
   * what it wrote is visible to others. Absent on the database itself.
   */
  afterCommit?(fn: () => void): void;
}

/** The transaction object both databases hand out, with its after-commit callbacks. */
export function transactionScope(query: Queryable['query']): { tx: Queryable; committed: () => void } {
  const callbacks: Array<() => void> = [];
  return {
    tx: { query, afterCommit: (fn) => void callbacks.push(fn) },
    committed: () => {
      for (const fn of callbacks) fn();
    },
  };
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements with no parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /**
   * PGlite only (no autovacuum in its single-user mode): vacuums and analyzes every table now,
   * as it does by itself after enough writes. Answers the tables.
   */
  maintain?(): Promise<string[]>;
}
