/**
 * PGlite runs PostgreSQL in single-user mode: no autovacuum worker, and no statistics the planner
 * can trust (tables it never analysed look empty). Left alone, dead rows of busy tables (jobs,
 * their steps, events) pile up and plans drift onto default estimates as tables grow. This does
 * autovacuum's job in-process: after enough writes, `VACUUM (ANALYZE)` one table at a time, so
 * queries queued behind it wait for one table's pass, never the whole database's.
 */
export interface Maintenance {
  /** Counts one write (a statement that is not a read, or a transaction). */
  wrote(): void;
  /** One pass over every table now, whatever was written; answers the tables it went over. */
  runNow(): Promise<string[]>;
  stop(): void;
}

export interface MaintenanceOptions {
  /** How often to look at the write count; default 10 minutes. */
  readonly everyMs: number;
  /** Writes since the last pass that make a pass worth it; default 1,000. */
  readonly minWrites: number;
  readonly onError: (error: unknown) => void;
}

type Run = (sql: string) => Promise<Array<Record<string, unknown>>>;

export function pgliteMaintenance(run: Run, options: MaintenanceOptions): Maintenance {
  let writes = 0;
  let running: Promise<string[]> | null = null;
  const pass = async (): Promise<string[]> => {
    writes = 0;
    const tables = await run(
      `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name
       FROM pg_stat_user_tables ORDER BY relname`,
    );
    const names = tables.map((t) => String(t['name']));
    for (const name of names) await run(`VACUUM (ANALYZE) ${name}`);
    return names;
  };
  const runNow = (): Promise<string[]> => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (writes >= options.minWrites) runNow().catch(options.onError);
  }, options.everyMs);
  // Never what keeps the process alive.
  timer.unref();
  return {
    wrote: () => void writes++,
    runNow,
    stop: () => clearInterval(timer),
  };
}
