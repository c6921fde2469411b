#!/usr/bin/env node
// bench/load: 200 connections for 60 s against a running server, on PGlite and on PostgreSQL
// (README.md). Writes bench/results/load.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ApiClient } from '@strata/server/api/test-client';
import { createTestDatabase, dropTestDatabase, ensurePostgres } from '@strata/testing';
import { mixedRequest } from './mix.mjs';
import { startServerProcess } from './server.mjs';

const USAGE = 'usage: node bench/load/run.mjs [duration_s 1-600] [connections 1-1000]';
const args = process.argv.slice(2);
const intArg = (text, def, max) =>
  text === undefined ? def : /^\d+$/.test(text) && +text >= 1 && +text <= max ? +text : NaN;
const DURATION_S = intArg(args[0], 60, 600);
const CONNECTIONS = intArg(args[1], 200, 1000);
if (args.length > 2 || Number.isNaN(DURATION_S) || Number.isNaN(CONNECTIONS)) {
  process.stderr.write(USAGE + '\n');
  process.exit(2);
}
const VOLUMES = 500;
const TIMEOUT_S = 10;
const GiB = 1024 ** 3;

/** A zone, a pool, a tenant with its own key and VOLUMES volumes, all through the API. */
async function seed(admin) {
  const zone = await admin.post('/v1/zones', { name: 'load' });
  const pool = await admin.post('/v1/storage-pools', {
    name: 'load-pool',
    zoneId: zone.body.id,
    provider: 'tgt',
    scope: 'zone',
    managed: true,
    capacityBytes: 2 ** 52,
    capacityIops: 100_000_000,
    url: 'iscsi://127.0.0.1/load',
  });
  const account = await admin.post('/v1/accounts', { name: 'tenant' });
  const user = await admin.post(`/v1/accounts/${account.body.id}/users`, { username: 'tenant' });
  const key = await admin.post('/v1/api-keys', { userId: user.body.id });
  const creds = { apiKey: key.body.apiKey, secretKey: key.body.secretKey };
  const tenant = admin.as(creds);
  const volumeIds = [];
  const create = async (name) => {
    const r = await tenant.post('/v1/volumes', {
      name,
      poolId: pool.body.id,
      sizeBytes: GiB,
      qos: { minIops: 50, maxIops: 100 },
    });
    if (r.status !== 202) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.resource.id;
  };
  for (let i = 0; i < VOLUMES; i += 10)
    volumeIds.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => create(`seed-${i + j}`)))));
  return { tenant, creds, volumeIds, zoneId: zone.body.id, create };
}

/** One volume create and one delete (of the one made a second before) each second: queued jobs the engine runs. */
function submitJobs(tenant, create) {
  const latencies = [];
  const statuses = {};
  let previous = null;
  let n = 0;
  const timed = async (fn) => {
    const t0 = performance.now();
    const status = await fn().then(
      (s) => s,
      () => 'error',
    );
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  const timer = setInterval(() => {
    const made = previous;
    void timed(async () => {
      previous = await create(`load-${n++}`);
      return 202;
    });
    if (made) void timed(async () => (await tenant.delete(`/v1/volumes/${made}`)).status);
  }, 1000);
  return { stop: () => clearInterval(timer), latencies, statuses };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function run(label, databaseUrl) {
  const dataDir = await mkdtemp(join(tmpdir(), `strata-load-${label}-`));
  const server = startServerProcess(databaseUrl, dataDir);
  try {
    const hello = await server.next();
    const admin = new ApiClient({ url: hello.url }, { apiKey: hello.apiKey, secretKey: hello.secretKey });
    const { tenant, creds, volumeIds, zoneId, create } = await seed(admin);
    server.send('reset');
    const jobs = submitJobs(tenant, create);
    const result = await autocannon({
      url: hello.url,
      connections: CONNECTIONS,
      duration: DURATION_S,
      timeout: TIMEOUT_S,
      requests: [mixedRequest(creds, volumeIds, zoneId)],
    });
    jobs.stop();
    server.send('stats');
    const loop = await server.next();
    const jobLat = [...jobs.latencies].sort((a, b) => a - b);
    const out = {
      requests: result.requests.total,
      timeouts: result.timeouts,
      errors: result.errors,
      errors5xx: result['5xx'],
      non2xx: result.non2xx,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      rps: result.requests.average,
      jobSubmissions: jobs.latencies.length,
      jobStatuses: jobs.statuses,
      jobP50: pct(jobLat, 50),
      jobP99: pct(jobLat, 99),
      loopP50Ms: loop.loopP50Ms,
      loopP99Ms: loop.loopP99Ms,
      loopMaxMs: loop.loopMaxMs,
      inServerMaxMs: loop.raw.max,
      inServerMaxOpen: loop.raw.maxOpen,
    };
    process.stderr.write(
      `${label}: ${JSON.stringify(out)}\n${label} in server by route: ${JSON.stringify(loop.routes)}\n`,
    );
    return out;
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0];
const pglite = await run('pglite', join(await mkdtemp(join(tmpdir(), 'strata-load-db-')), 'db'));
await ensurePostgres();
const pgUrl = await createTestDatabase('load');
let postgres;
try {
  postgres = await run('postgres', pgUrl);
} finally {
  await dropTestDatabase(pgUrl);
}

const r2 = (n) => Math.round(n * 100) / 100;
const metrics = {};
for (const [db, m] of [
  ['pglite', pglite],
  ['postgres', postgres],
])
  for (const [key, unit] of Object.entries({
    requests: 'requests',
    rps: 'requests/s',
    timeouts: 'requests',
    errors: 'requests',
    errors5xx: 'requests',
    non2xx: 'requests',
    p50: 'ms',
    p99: 'ms',
    max: 'ms',
    jobSubmissions: 'requests',
    jobP50: 'ms',
    jobP99: 'ms',
    loopP50Ms: 'ms',
    loopP99Ms: 'ms',
    loopMaxMs: 'ms',
    inServerMaxMs: 'ms',
    inServerMaxOpen: 'requests',
  }))
    metrics[`${key}_${db}`] = { value: r2(m[key]), unit };
const result = {
  name: 'load',
  when: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${Math.round(totalmem() / GiB)} GiB, load average ${loadBefore.toFixed(2)} at start`,
  notes: `autocannon and the server share the machine's cores; ${CONNECTIONS} connections for ${DURATION_S} s per database, ${TIMEOUT_S} s timeout; mix: 40% volume list (page of 50), 35% volume get, 10% job list, 15% zone get/list, each signed afresh by a tenant key over ${VOLUMES} volumes; plus one volume create and one delete per second whose jobs the server runs (one database step each, no storage backend). loop*: the server's event-loop delay during the run; inServer*: from Node's 'request' event (headers read) to the answer, and the most requests inside the server at once.`,
  connections: CONNECTIONS,
  duration_s: DURATION_S,
  requests: pglite.requests + postgres.requests,
  timeouts: pglite.timeouts + postgres.timeouts,
  errors_5xx: pglite.errors5xx + postgres.errors5xx,
  p50_ms_pglite: pglite.p50,
  p99_ms_pglite: pglite.p99,
  p50_ms_postgres: postgres.p50,
  p99_ms_postgres: postgres.p99,
  job_statuses: { pglite: pglite.jobStatuses, postgres: postgres.jobStatuses },
  metrics,
};
const file = new URL('../results/load.json', import.meta.url);
await mkdir(new URL('.', file), { recursive: true });
await writeFile(file, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
