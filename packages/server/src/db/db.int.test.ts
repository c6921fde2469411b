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
