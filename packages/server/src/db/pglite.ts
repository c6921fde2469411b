import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { StrataError } from '@strata/core';
import { transactionScope, type Database } from './database.js';
import { initialiseInChild, isInitialised, PGLITE_CONF } from './pglite-init.js';
import { pgliteMaintenance, type MaintenanceOptions } from './pglite-maintenance.js';
import { copyTemplateTo, pgliteTemplateRoot, templateTarball } from './pglite-template.js';
import { turnTaking } from './turns.js';

const isRead = (sql: string): boolean => /^\s*(select|show|explain)\b/i.test(sql);

/** Node's timers hold at most this (about 24.8 days); a longer period would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Vacuum and analyze every 10 minutes after 1,000 writes. STRATA_PGLITE_MAINTENANCE_MS sets the
 * period: a whole number of ms from 1 to 2^31-1; anything else is refused at start.
 */
function maintenanceOptions(): Omit<MaintenanceOptions, 'onError'> {
  const text = process.env['STRATA_PGLITE_MAINTENANCE_MS'];
  if (text === undefined) return { everyMs: 600_000, minWrites: 1_000 };
  const everyMs = /^\d{1,10}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(everyMs >= 1 && everyMs <= MAX_TIMER_MS))
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'STRATA_PGLITE_MAINTENANCE_MS',
      reason: `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    });
  return { everyMs, minWrites: 1_000 };
}

/**
 * The embedded default: PostgreSQL compiled to WASM, in a data directory (or memory).
 * PGlite has a single connection and serialises transactions itself. A new data directory is
 * initialised in a child process first (pglite-init.ts), which keeps initdb's memory out of ours.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const options = maintenanceOptions();
  const template = pgliteTemplateRoot();
  // before PGlite's module is compiled in this process
  baselineWasmOnly();
  if (dataDir && !(await isInitialised(dataDir))) {
    if (template) await copyTemplateTo(template, dataDir);
    else await initialiseInChild(dataDir);
  }
  const pg = dataDir
    ? await PGlite.create(dataDir, { postgresqlconf: PGLITE_CONF })
    : await PGlite.create({
        postgresqlconf: PGLITE_CONF,
        ...(template && { loadDataDir: await templateTarball(template) }),
      });
  const query = async <T extends object>(
    q: Pick<PGlite, 'query'>,
    sql: string,
    params?: readonly unknown[],
  ) => (await q.query<T>(sql, params ? [...params] : undefined)).rows;
  const maintenance = pgliteMaintenance((sql) => query(pg, sql), {
    ...options,
    // A failed pass is retried at the next period; the database goes on serving.
    onError: (e) => process.emitWarning(`PGlite maintenance: ${(e as Error).message}`),
  });
  // Each statement or transaction in its own event-loop turn, in arrival order (turns.ts).
  const turn = turnTaking();
  return {
    kind: 'pglite',
    query: (sql, params) => {
      if (!isRead(sql)) maintenance.wrote();
      return turn(() => query(pg, sql, params));
    },
    maintain: () => maintenance.runNow(),
    async transaction(fn) {
      maintenance.wrote();
      let committed = () => {};
      const result = await turn(() =>
        pg.transaction((raw) => {
          const scope = transactionScope((sql, params) => query(raw, sql, params));
          committed = scope.committed;
          return fn(scope.tx);
        }),
      );
      committed();
      return result;
    },
    exec: async (sql) => {
      await pg.exec(sql);
    },
    close: () => {
      maintenance.stop();
      return pg.close();
    },
  };
}

/**
 * Runs WASM on V8's baseline compiler (Liftoff) only, without tiering hot functions up to the
 * optimising compiler. Tier-up compiles PostgreSQL's functions on background threads whose scratch
 * memory stays in per-thread malloc arenas: 75-100 MB of the server's resident memory at 100,000
 * volumes, more than the database's own heap (ADR 0005). API requests barely notice (a page of a
 * list is about 0.5 ms slower; its time is in the wire protocol and JavaScript, not in WASM);
 * bulk SQL can be up to 1.7x slower.
 * The flags are process-wide and read when a module is compiled, so they are set before PGlite's.
 */
function baselineWasmOnly(): void {
  setFlagsFromString('--no-wasm-dynamic-tiering');
  setFlagsFromString('--no-wasm-tier-up');
}
