#!/usr/bin/env node
// bench/chaos: several clients run a mix of operations on one VM for a few minutes while a killer
// SIGKILLs the server, every agent and tgtd at random moments; then every invariant is checked and
// bench/results/chaos.json written. Run by hand (README.md). Usage:
//   npx tsc -b && STRATA_CRASH_RBD_POOL=<own pool> node bench/chaos/run.mjs [--minutes 3] [--clients 3] [--kills 6] [--osd]
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { crashEnvironment } from '../../packages/demo/dist/crash-env.js';
import { buildDemoVm, waitForGuestAgent } from '../../packages/demo/dist/story.js';
import { startOwnTgtd, setWriterInterval } from '../../packages/testing/dist/index.js';
import { runClient } from './clients.mjs';
import { runKiller, victims } from './killer.mjs';
import { finalChecks } from './checks.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'results', 'chaos.json');
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    clients: { type: 'string', default: '3' },
    kills: { type: 'string', default: '6' },
    osd: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const log = (l) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}`);
const lines = [];

const cx0 = await crashEnvironment((l) => void lines.push(l));
const vms = [];
let tgtd = null;
let keep = true;
try {
  const rest = cx0.env.rest;
  // tgtd of this run's own (management port 700..799): killing it touches no one else's targets
  tgtd = await startOwnTgtd(700 + Math.floor(Math.random() * 100));
  const tgtDir = await mkdtemp(join(dirname(cx0.backends.tgtDir), 'strata-chaos-tgt-'));
  await run('chmod', ['0755', tgtDir]);
  const pool = await rest.post('/v1/storage-pools', {
    name: `chaos tgt ${tgtd.controlPort}`,
    zoneId: cx0.cloud.zoneId,
    clusterId: cx0.cloud.clusterId,
    scope: 'cluster',
    managed: true,
    capacityBytes: 64 * 1024 ** 3,
    capacityIops: 20_000,
    provider: 'tgt',
    url: `iscsi://${tgtd.portal}${tgtDir}`,
    details: { controlPort: String(tgtd.controlPort) },
  });
  await rest.api.request('DELETE', `/v1/storage-pools/${cx0.cloud.pools.tgt}`);
  const cloud = { ...cx0.cloud, pools: { ...cx0.cloud.pools, tgt: pool.id } };
  const cx = { ...cx0, cloud, tgtDir, tgtControlPort: tgtd.controlPort };
  log(`stack up (files in ${cx.root}); own tgtd on control port ${tgtd.controlPort}`);
  const { vm } = await buildDemoVm(rest, cx.backends, cloud, log, cx.vmHost);
  vms.push(vm.id);
  await waitForGuestAgent(vm.id, 300_000, await cx.uriOf(vm.id));
  await setWriterInterval(vm.id, 1, await cx.uriOf(vm.id));
  log(`VM ${vm.id} runs; ${values.clients} clients for ${minutes} min, at most ${values.kills} kills`);

  const pools = [cloud.pools.tgt, cloud.pools.qcow2, ...(cloud.pools.rbd ? [cloud.pools.rbd] : [])];
  const stats = {
    operations: 0,
    refused: 0,
    refusedWhileDown: 0,
    waitedForServerMs: 0,
    failedJobs: 0,
    byOp: {},
    errors: {},
    jobIds: new Set(),
  };
  const deployed = [];
  const t0 = Date.now();
  const deadline = t0 + minutes * 60_000;
  const clients = Array.from({ length: Number(values.clients) }, (_, n) =>
    runClient(n, {
      rest,
      vmId: vm.id,
      pools,
      templateId: cloud.templateId,
      qcow2Pool: cloud.pools.qcow2,
      hostId: cx.vmHost.id,
      deadline,
      stats,
      deployed,
    }),
  );
  const kills = await runKiller(victims(cx, tgtd, { osd: values.osd }), {
    deadline,
    maxKills: Number(values.kills),
    log,
  });
  await Promise.all(clients);
  for (const d of deployed) vms.push(d.id);
  log(
    `load over after ${Math.round((Date.now() - t0) / 1000)} s: ${stats.operations} operations, ${kills.length} kills`,
  );

  const checks = await finalChecks(cx, vms, log);
  const result = {
    at: new Date().toISOString(),
    host: hostname(),
    commit: (await run('git', ['rev-parse', 'HEAD'], { cwd: here })).stdout.trim(),
    minutes,
    clients: Number(values.clients),
    operations: stats.operations,
    operations_by_type: stats.byOp,
    refused_calls: stats.refused,
    refused_while_server_down: stats.refusedWhileDown,
    client_wait_for_server_s: Math.round(stats.waitedForServerMs / 1000),
    jobs: stats.jobIds.size,
    jobs_failed: stats.failedJobs,
    errors: stats.errors,
    kills: kills.length,
    kills_detail: kills,
    osd_restarts: kills.filter((k) => k.victim === 'osd' && !k.error).length,
    ...checks,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`written ${out}: ${JSON.stringify({ ...result, kills_detail: undefined, details: undefined })}`);
  keep =
    checks.jobs_not_terminal +
      checks.frozen_guests +
      checks.orphans +
      checks.unreadable_volumes +
      checks.db_mismatches >
    0;
} catch (e) {
  log(
    `failed: ${e?.stack ?? e}\n--- log ---\n${lines.slice(-40).join('\n')}\n--- server ---\n${await cx0.tail()}`,
  );
  process.exitCode = 1;
} finally {
  await cx0.close(vms, keep);
  await tgtd?.close();
  if (keep) log(`files kept in ${cx0.root}`);
}
