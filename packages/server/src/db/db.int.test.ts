import assert from 'node:assert/strict';
import { test } from 'node:test';
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
