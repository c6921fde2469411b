import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from './index.js';

// STRATA_PGLITE_TEMPLATE: one initdb for the machine, then every new embedded database, on disk
// or in memory, starts from a copy of it, migrated and independent of the others.
void test(
  'new embedded databases start from one cached cluster, each its own',
  { timeout: 180_000 },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'strata-pglite-tpl-'));
    const before = process.env['STRATA_PGLITE_TEMPLATE'];
    process.env['STRATA_PGLITE_TEMPLATE'] = join(root, 'template');
    try {
      const a = await openDatabase(join(root, 'a'));
      const b = await openDatabase(join(root, 'b'));
      const m = await openDatabase('memory:');
      const templates = await readdir(join(root, 'template'));
      assert.equal(templates.length, 1, `one cached cluster: ${templates.join(', ')}`);
      assert.deepEqual((await readdir(join(root, 'template', templates[0]!))).sort(), [
        'cluster.tar',
        'complete',
        'data',
      ]);
      await a.query(`INSERT INTO zones (id, name) VALUES ('zone-a', 'only in a')`);
      for (const [name, db, n] of [
        ['a', a, 1],
        ['b', b, 0],
        ['memory', m, 0],
      ] as const) {
        const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM zones');
        assert.equal(rows[0]?.n, n, `${name}: its own zones`);
      }
      for (const db of [a, b, m]) await db.close();
      // a database reopened is its own again, not the template
      const again = await openDatabase(join(root, 'a'));
      assert.equal((await again.query<{ n: number }>('SELECT count(*)::int AS n FROM zones'))[0]?.n, 1);
      await again.close();
    } finally {
      if (before === undefined) delete process.env['STRATA_PGLITE_TEMPLATE'];
      else process.env['STRATA_PGLITE_TEMPLATE'] = before;
      await rm(root, { recursive: true, force: true });
    }
  },
);
