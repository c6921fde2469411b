import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { pruneAuditEvents, startAuditPruning } from './audit-retention.js';

// Audit retention against a real server and database, on PGlite and on PostgreSQL: a server
// prunes events older than its retention when it starts and then periodically; younger events
// and a retention of 0 keep theirs (docs/security.md, "Audit trail").

const DAY = 86_400_000;
const quiet = { info: () => undefined, warn: () => undefined };

for (const database of TEST_DATABASES) {
  void describe(`audit retention on ${database.name}`, () => {
    let dataDir: string;
    let url = '';
    let drop: () => Promise<void>;
    let server: RunningServer | undefined;

    const start = (auditRetentionDays: number) =>
      startServer(
        {
          dataDir,
          databaseUrl: url,
          host: '127.0.0.1',
          port: 0,
          logLevel: 'silent',
          jobs: false,
          auditRetentionDays,
        },
        { listen: false },
      );
    const ages = async (s: RunningServer): Promise<number[]> =>
      (
        await s.db.query(
          `SELECT (extract(epoch FROM now() - created_at) / 86400)::int AS days FROM audit_events
           WHERE via = 'retention-test' ORDER BY created_at`,
        )
      ).map((r) => Number(r['days']));

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-audit-retention-'));
      if (database.name === 'PGlite') {
        // a directory, not memory: the test restarts the server on the same data
        url = join(dataDir, 'db');
        drop = () => Promise.resolve();
      } else {
        const db = await database.open();
        url = db.url;
        drop = db.drop;
      }
      const first = await start(0);
      for (const days of [400, 100, 40, 0])
        await first.db.query(
          `INSERT INTO audit_events (kind, via, created_at) VALUES ('auth.failed', 'retention-test', $1)`,
          [new Date(Date.now() - days * DAY - 60_000).toISOString()],
        );
      await first.close();
    });
    after(async () => {
      await server?.close();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('a server prunes events past its retention when it starts', async () => {
      server = await start(60);
      let seen: number[] = [];
      for (let i = 0; i < 100; i++) {
        seen = await ages(server);
        if (seen.length === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen, [40, 0]);
    });

    void test('and periodically after; 0 keeps every event', async () => {
      assert.ok(server);
      assert.equal(await pruneAuditEvents(server.db, 0), 0);
      assert.deepEqual(await ages(server), [40, 0]);
      const pruning = startAuditPruning(server.db, 30, quiet, 50);
      try {
        for (let i = 0; i < 100 && (await ages(server)).length > 1; i++)
          await new Promise((r) => setTimeout(r, 50));
      } finally {
        await pruning.close();
      }
      assert.deepEqual(await ages(server), [0]);
    });

    void test('many old events go in batches', async () => {
      assert.ok(server);
      await server.db.query(
        `INSERT INTO audit_events (kind, via, created_at)
         SELECT 'auth.failed', 'retention-test', now() - interval '200 days' FROM generate_series(1, 12000)`,
      );
      assert.equal(await pruneAuditEvents(server.db, 90), 12000);
      assert.deepEqual(await ages(server), [0]);
    });
  });
}
