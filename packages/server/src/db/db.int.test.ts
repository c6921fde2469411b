import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isInitialised } from './pglite-init.js';
import { openDatabase } from './open.js';
import { migrate } from './migrate.js';

test('PGlite in memory: migrations apply once, transactions commit and roll back', async () => {
  const db = await openDatabase('memory:');
  try {
    assert.deepEqual(await migrate(db), [], 'a second migrate applies nothing');
    await db.query(`INSERT INTO accounts (id, name, role) VALUES ('a1', 'ops', 'admin')`);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO accounts (id, name, role) VALUES ('a2', 'dev', 'user')`);
        throw new Error('abort');
      }),
      /abort/,
    );
    const rows = await db.query<{ id: string }>('SELECT id FROM accounts ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      ['a1'],
    );
  } finally {
    await db.close();
  }
});

test('PGlite data directory: created by a child process, reopened with what it holds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pglite-'));
  try {
    assert.equal(await isInitialised(dir), false);
    const first = await openDatabase(dir);
    await first.query(`INSERT INTO accounts (id, name, role) VALUES ('a1', 'ops <"x">', 'admin')`);
    const [buffers] = await first.query<{ shared_buffers: string }>('SHOW shared_buffers');
    assert.equal(buffers?.shared_buffers, '32MB', 'the embedded settings are in force');
    await first.close();
    assert.equal(await isInitialised(dir), true);

    const again = await openDatabase(dir);
    try {
      const rows = await again.query<{ name: string }>('SELECT name FROM accounts');
      assert.deepEqual(
        rows.map((r) => r.name),
        ['ops <"x">'],
      );
    } finally {
      await again.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('PGlite vacuums and analyzes by itself: the planner sees real row counts and dead rows go', async () => {
  const previous = process.env['STRATA_PGLITE_MAINTENANCE_MS'];
  process.env['STRATA_PGLITE_MAINTENANCE_MS'] = '200';
  const db = await openDatabase('memory:');
  try {
    await db.query(`CREATE TABLE churn (id int PRIMARY KEY, note text)`);
    const stats = async () =>
      (
        await db.query<{ reltuples: number; dead: number }>(
          `SELECT c.reltuples::float8 AS reltuples, s.n_dead_tup::int AS dead
           FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'churn'`,
        )
      )[0]!;
    assert.equal((await stats()).reltuples, -1, 'never analyzed: the planner knows nothing of it');
    // 1,200 writes: over the threshold, so the timer's next look runs a pass.
    for (let i = 0; i < 1_200; i++) await db.query(`INSERT INTO churn VALUES ($1, 'n')`, [i]);
    await db.query(`DELETE FROM churn WHERE id >= 200`);
    // Queries take event-loop turns (turns.ts), so a pass may have run among the inserts: 1,000
    // writes elsewhere make sure one starts after the delete.
    await db.query(`CREATE TABLE pad (id int)`);
    for (let i = 0; i < 1_000; i++) await db.query(`INSERT INTO pad VALUES ($1)`, [i]);
    // A pass runs outside any transaction even while one is open (PGlite queues it behind).
    await db.transaction(async (tx) => {
      await tx.query(`UPDATE churn SET note = 'm' WHERE id = 0`);
      await new Promise((r) => setTimeout(r, 300));
    });
    const deadline = Date.now() + 10_000;
    while ((await stats()).reltuples !== 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await stats()).reltuples, 200, 'analyzed: 200 live rows');
    // The deleted rows filled the table's last pages: vacuum gave them back (1,200 rows take 6).
    const [size] = await db.query<{ bytes: number }>(`SELECT pg_relation_size('churn')::int AS bytes`);
    assert.ok(size!.bytes <= 16_384, `the table holds ${size!.bytes} bytes after the vacuum`);
    const tables = await db.maintain!();
    assert.ok(tables.includes('public.churn') && tables.includes('public.volumes'), tables.join(', '));
  } finally {
    await db.close();
    if (previous === undefined) delete process.env['STRATA_PGLITE_MAINTENANCE_MS'];
    else process.env['STRATA_PGLITE_MAINTENANCE_MS'] = previous;
  }
});

test('a malformed, negative or overlong maintenance period is refused with its coded error', async () => {
  const previous = process.env['STRATA_PGLITE_MAINTENANCE_MS'];
  try {
    for (const bad of ['soon', '-5', '0', '1e3', '99999999999', ' ']) {
      process.env['STRATA_PGLITE_MAINTENANCE_MS'] = bad;
      await assert.rejects(
        openDatabase('memory:'),
        (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT',
        `refused: ${JSON.stringify(bad)}`,
      );
    }
  } finally {
    if (previous === undefined) delete process.env['STRATA_PGLITE_MAINTENANCE_MS'];
    else process.env['STRATA_PGLITE_MAINTENANCE_MS'] = previous;
  }
});
