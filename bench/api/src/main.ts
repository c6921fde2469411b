/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- API answers are JSON read field by field */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ApiClient } from '@strata/server/api/test-client';
import { createTestDatabase, dropTestDatabase, ensurePostgres } from '@strata/testing';

/**
 * bench/api: a management server holding 100,000 volumes. Measures, on PGlite and on PostgreSQL,
 * volume creates per second through the API (signed requests, admission, record + job in one
 * transaction), the latency of paginated lists (cursor pages of 50) at that size, and the
 * server's resident memory. Writes bench/results/api.json (DESIGN.md section 7).
 */
const TOTAL = Number(process.env['BENCH_VOLUMES'] ?? 100_000);
const API_CREATES = Number(process.env['BENCH_API_CREATES'] ?? 2_000);
const CONCURRENCY = 8;
const LIST_REQUESTS = 1_000;
const GiB = 1024 ** 3;

interface Child {
  readonly proc: ChildProcess;
  readonly lines: Interface;
  next(): Promise<Record<string, unknown>>;
}

function startServerProcess(databaseUrl: string, dataDir: string): Child {
  const proc = spawn(
    process.execPath,
    [new URL('./server-process.js', import.meta.url).pathname, databaseUrl, dataDir],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: proc.stdout });
  const queue: string[] = [];
  const waiting: Array<(l: string) => void> = [];
  lines.on('line', (l) => {
    if (!l.startsWith('{"url"') && !l.startsWith('{"seeded"') && !l.startsWith('{"error"')) return; // server logs
    const w = waiting.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return {
    proc,
    lines,
    next: () =>
      new Promise((resolve) => {
        const l = queue.shift();
        if (l) resolve(JSON.parse(l) as Record<string, unknown>);
        else waiting.push((x) => resolve(JSON.parse(x) as Record<string, unknown>));
      }),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function run(label: string, databaseUrl: string): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(tmpdir(), `strata-bench-${label}-`));
  const child = startServerProcess(databaseUrl, dataDir);
  try {
    const hello = (await child.next()) as { url: string; apiKey: string; secretKey: string };
    const admin = new ApiClient({ url: hello.url }, { apiKey: hello.apiKey, secretKey: hello.secretKey });
    const zone = await admin.post('/v1/zones', { name: 'bench' });
    const pool = await admin.post('/v1/storage-pools', {
      name: 'bench-pool',
      zoneId: zone.body.id,
      provider: 'tgt',
      scope: 'zone',
      managed: true,
      capacityBytes: 2 ** 52,
      capacityIops: 100_000_000,
      url: 'iscsi://127.0.0.1/bench',
    });
    const account = await admin.post('/v1/accounts', { name: 'tenant' });
    const user = await admin.post(`/v1/accounts/${account.body.id}/users`, { username: 'tenant' });
    const key = await admin.post('/v1/api-keys', { userId: user.body.id });
    const tenant = admin.as({ apiKey: key.body.apiKey, secretKey: key.body.secretKey });

    // creates through the API, CONCURRENCY in flight
    let made = 0;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (made + failed < API_CREATES) {
          const i = made + failed;
          made++;
          const r = await tenant.post('/v1/volumes', {
            name: `api-${i}`,
            poolId: pool.body.id,
            sizeBytes: GiB,
            qos: { minIops: 50, maxIops: 100 },
          });
          if (r.status !== 202) {
            made--;
            failed++;
            if (failed < 5) process.stderr.write(`create failed: ${r.status} ${JSON.stringify(r.body)}\n`);
          }
        }
      }),
    );
    const createSeconds = (performance.now() - t0) / 1000;
    const createPerS = made / createSeconds;
    process.stderr.write(
      `${label}: ${made} API creates in ${createSeconds.toFixed(1)} s (${createPerS.toFixed(0)}/s), ${failed} failed\n`,
    );

    child.proc.stdin!.write(`seed ${TOTAL} ${pool.body.id} ${account.body.id}\n`);
    const seeded = await child.next();
    process.stderr.write(`${label}: ${JSON.stringify(seeded)} volumes in the database\n`);

    // paginated lists: walk cursor pages of 50 through the tenant's 100,000 volumes
    const latencies: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < LIST_REQUESTS; i++) {
      const start = performance.now();
      const r = await tenant.get('/v1/volumes', { limit: '50', ...(cursor ? { cursor } : {}) });
      latencies.push(performance.now() - start);
      if (r.status !== 200 || r.body.items.length !== 50)
        throw new Error(`list failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      cursor = r.body.nextCursor;
    }
    // filtered lists (state + pool) at the same size
    const filtered: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      const r = await tenant.get('/v1/volumes', { limit: '50', state: 'Ready', poolId: pool.body.id });
      filtered.push(performance.now() - start);
      if (r.status !== 200) throw new Error(`filtered list failed: ${r.status}`);
    }
    latencies.sort((a, b) => a - b);
    filtered.sort((a, b) => a - b);
    const rss = await rssMb(child.proc.pid!);
    process.stderr.write(
      `${label}: list p50 ${percentile(latencies, 50).toFixed(2)} ms p99 ${percentile(latencies, 99).toFixed(2)} ms; rss ${rss} MB\n`,
    );
    return {
      createPerS,
      listP50: percentile(latencies, 50),
      listP99: percentile(latencies, 99),
      filteredP50: percentile(filtered, 50),
      filteredP99: percentile(filtered, 99),
      rss,
      volumes: Number(seeded['seeded']),
    };
  } finally {
    child.proc.stdin!.write('quit\n');
    await new Promise((r) => child.proc.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

const pglite = await run('pglite', join(await mkdtemp(join(tmpdir(), 'strata-bench-db-')), 'db'));
await ensurePostgres();
const pgUrl = await createTestDatabase('bench');
let postgres: Record<string, number>;
try {
  postgres = await run('postgres', pgUrl);
} finally {
  await dropTestDatabase(pgUrl);
}

const result = {
  name: 'api',
  when: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${Math.round(totalmem() / 1024 ** 3)} GiB`,
  notes: `${API_CREATES} volumes created through the signed API with ${CONCURRENCY} requests in flight (record + admission + queued job per create), then topped up to ${TOTAL} with SQL; lists are ${LIST_REQUESTS} consecutive cursor pages of 50 as a non-admin account, timed at the client over HTTP on loopback; RSS of the server process (PGlite runs inside it).`,
  metrics: {
    create_per_s_pglite: { value: round(pglite['createPerS'] ?? 0, 1), unit: 'creates/s' },
    create_per_s_postgres: { value: round(postgres['createPerS'] ?? 0, 1), unit: 'creates/s' },
    list_p50_ms_pglite: { value: round(pglite['listP50'] ?? 0), unit: 'ms' },
    list_p99_ms_pglite: { value: round(pglite['listP99'] ?? 0), unit: 'ms' },
    list_p50_ms_postgres: { value: round(postgres['listP50'] ?? 0), unit: 'ms' },
    list_p99_ms_postgres: { value: round(postgres['listP99'] ?? 0), unit: 'ms' },
    filtered_list_p99_ms_pglite: { value: round(pglite['filteredP99'] ?? 0), unit: 'ms' },
    filtered_list_p99_ms_postgres: { value: round(postgres['filteredP99'] ?? 0), unit: 'ms' },
    server_rss_mb_100k: { value: pglite['rss'] ?? 0, unit: 'MB' },
    server_rss_mb_100k_postgres: { value: postgres['rss'] ?? 0, unit: 'MB' },
    volumes_pglite: { value: pglite['volumes'] ?? 0, unit: 'rows' },
    volumes_postgres: { value: postgres['volumes'] ?? 0, unit: 'rows' },
  },
};
const out = new URL('../../results/api.json', import.meta.url);
await mkdir(new URL('.', out), { recursive: true });
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
