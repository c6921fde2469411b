import { createInterface } from 'node:readline';
import { startServer } from '@strata/server';
import type { JobDefinition } from '@strata/server/jobs/index';

/**
 * The server under test, in its own process so its resident memory is its own. Jobs are queued
 * but not run (--no-jobs): the benchmark measures the API and the database, not backends.
 * Answers one JSON line with its URL and admin key; then obeys `seed <total>` on stdin.
 */
const [databaseUrl, dataDir] = process.argv.slice(2);
if (!databaseUrl || !dataDir) throw new Error('usage: server-process <databaseUrl> <dataDir>');

const server = await startServer(
  {
    dataDir,
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'warn',
    jobs: false,
    // the benchmark measures capacity from one key: a rate limit would cap it, not measure it
    limits: { requestsPerMinute: 0, anonymousPerMinute: 0, jobWaits: 0, jobWaitsPerUser: 0 },
  },
  {
    extensions: [
      {
        name: 'bench-jobs',
        start(ctx) {
          const def: JobDefinition = {
            type: 'volume.create',
            steps: [{ name: 'noop', run: () => Promise.resolve(null) }],
          };
          ctx.engine.register(def);
          return Promise.resolve();
        },
      },
    ],
  },
);
process.stdout.write(
  JSON.stringify({
    url: server.url,
    apiKey: server.bootstrap?.apiKey,
    secretKey: server.bootstrap?.secretKey,
  }) + '\n',
);

/** Tops the volumes table up to `total` rows in one pool with set-based SQL (the API made the first ones). */
async function seed(total: number, poolId: string, accountId: string): Promise<number> {
  const have = Number((await server.db.query<{ n: string }>('SELECT count(*) AS n FROM volumes'))[0]?.n ?? 0);
  for (let done = have; done < total; done += 10_000) {
    const n = Math.min(10_000, total - done);
    await server.db.query(
      `INSERT INTO volumes (id, account_id, name, type, state, pool_id, size_bytes, min_iops, max_iops, burst_iops, burst_seconds, created_at)
       SELECT 'vol-seed-' || lpad(g::text, 8, '0'), $1, 'seed-' || g, 'DATA', 'Ready', $2, 1073741824, 50, 100, 100, 60,
              now() + (g || ' microseconds')::interval
       FROM generate_series($3::int, $4::int) g`,
      [accountId, poolId, done, done + n - 1],
    );
  }
  return Number((await server.db.query<{ n: string }>('SELECT count(*) AS n FROM volumes'))[0]?.n ?? 0);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, total, poolId, accountId] = line.trim().split(' ');
  if (cmd === 'seed' && total && poolId && accountId) {
    seed(Number(total), poolId, accountId).then(
      (n) => process.stdout.write(JSON.stringify({ seeded: n }) + '\n'),
      (e: unknown) => process.stdout.write(JSON.stringify({ error: String(e) }) + '\n'),
    );
  }
  if (cmd === 'quit') void server.close().then(() => process.exit(0));
});
