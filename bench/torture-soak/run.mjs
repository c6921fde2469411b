#!/usr/bin/env node
// bench/torture-soak: the torture test's check, N times (default 1,000). A guest writes one ordered
// sequence over ROOT (qcow2) and data disks on qcow2, tgt iSCSI and Ceph RBD; in each round a
// fresh VM takes ROUND snapshots under that load, cycling through every quiesce mode and memory
// snapshots, is stopped, and is reverted to each of them in a shuffled order, every disk read back
// and checked against the writer's full history (packages/demo/src/torture-round.ts): one check per
// revert. Resumable across sittings: the totals are kept in bench/results/torture.json and a new
// sitting adds rounds until the target is met. Run by hand (never by CI):
//   npx tsc -b && node bench/torture-soak/run.mjs [checks]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { bringUp } from '@strata/demo';
import { buildDemoVm, readAll, waitForGuestAgent } from '@strata/demo/story';
import { checkHistory, shuffled } from '@strata/demo/torture-checks';
import { EXPECTED_LABEL } from '@strata/demo/torture-labels';
import { revertAndCheck, stallThresholdMs, takeUnderLoad } from '@strata/demo/torture-round';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const out = join(here, '..', 'results', 'torture.json');
const target = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(target) || target < 1) {
  console.error(`bench/torture-soak: checks must be a positive integer, not "${process.argv[2]}"`);
  process.exit(2);
}
const MODES = ['guest', 'hypervisor', 'pause', 'none', 'memory'];
const ROUND = Number(process.env['BENCH_SOAK_ROUND'] ?? 20);
const log = (line) => console.error(`[soak] ${new Date().toISOString()} ${line}`);
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();

// Problems sorted into the two counts; anything else (a wrong label, a cut outside its
// job's window, a disk that did not go back) is counted as `other_problems`.
const LOST = /missing|acknowledged before/;
const ORDER = /duplicate|backwards|out of order|not the one the guest made|first write present/;

async function previous() {
  try {
    return JSON.parse(await readFile(out, 'utf8'));
  } catch {
    return {
      checks: 0,
      order_violations: 0,
      lost_writes: 0,
      other_problems: 0,
      per_mode: {},
      sittings: [],
      problems: [],
    };
  }
}

async function save(r) {
  await writeFile(out, `${JSON.stringify(r, null, 2)}\n`);
}

function count(r, mode, problems, check = true) {
  const m = (r.per_mode[mode] ??= { checks: 0, order_violations: 0, lost_writes: 0, other_problems: 0 });
  if (check) {
    m.checks++;
    r.checks++;
  }
  for (const p of problems) {
    const kind = ORDER.test(p) ? 'order_violations' : LOST.test(p) ? 'lost_writes' : 'other_problems';
    m[kind]++;
    r[kind]++;
    if (r.problems.length < 200) r.problems.push({ at: new Date().toISOString(), commit, mode, problem: p });
  }
}

/** One round on a fresh VM: ROUND snapshots under load, then a revert to each, checked. */
async function round(env, r, sitting, n) {
  const { rest } = env;
  const { vm, disks } = await buildDemoVm(rest, env.backends, env.cloud, log);
  try {
    await waitForGuestAgent(vm.id, 180_000);
    await sleep(2_000);
    const taken = [];
    for (let i = 0; i < ROUND; i++) {
      const mode = MODES[(i + n) % MODES.length];
      const s = await takeUnderLoad(rest, vm.id, undefined, i, mode);
      if (s.snap.consistency !== EXPECTED_LABEL[mode])
        count(r, mode, [`recorded ${s.snap.consistency}, expected ${EXPECTED_LABEL[mode]}`], false);
      taken.push(s);
      await sleep(500 + ((i * 389) % 900));
    }
    await rest.run(`/v1/vms/${vm.id}/stop`);
    const history = await readAll(rest, disks);
    const holes = checkHistory(history);
    if (holes.length) throw new Error(`the writer's own history is broken: ${holes.join('; ')}`);
    const threshold = stallThresholdMs(history);
    for (const s of shuffled(taken, Date.now() % 100_000)) {
      const c = await revertAndCheck(rest, vm.id, disks, s, history, threshold);
      count(r, s.mode, c.problems);
      sitting.checks++;
      log(
        `check ${r.checks}/${target} t${s.index} (${s.mode}): ${c.problems.length ? c.problems.join('; ') : 'ok'}`,
      );
    }
    await save(r);
  } finally {
    await rest.api
      .request('DELETE', `/v1/vms/${vm.id}`, { query: { expunge: true } })
      .then((a) => rest.waitJob(a.job))
      .catch((e) => log(`expunge ${vm.id}: ${e.message}`));
    for (const d of disks.slice(1))
      await rest
        .runDelete(`/v1/volumes/${d.volume.id}`)
        .catch((e) => log(`delete ${d.volume.id}: ${e.message}`));
  }
}

const r = await previous();
if (r.checks >= target) {
  console.log(`bench/torture-soak: ${r.checks} checks on record already (target ${target})`);
  process.exit(0);
}
const root = await mkdtemp(join(tmpdir(), 'strata-soak-'));
const children = [];
const sitting = { commit, host: hostname(), started: new Date().toISOString(), checks: 0 };
r.sittings.push(sitting);
let failed = false;
try {
  const port = 27_000 + Math.floor(Math.random() * 1000);
  const env = await bringUp({
    root,
    port,
    agentPort: port + 1000,
    detached: false,
    log,
    track: (c) => children.push(c),
  });
  if (!env.cloud.pools.rbd) throw new Error('Ceph must run: the soak spans qcow2, tgt and rbd');
  for (let n = 0; r.checks < target; n++) {
    await round(env, r, sitting, n);
    sitting.ended = new Date().toISOString();
    await save(r);
  }
} catch (e) {
  failed = true;
  log(`stopped: ${e.stack ?? e}`);
} finally {
  sitting.ended = new Date().toISOString();
  await save(r);
  for (const c of children) c.kill('SIGKILL');
  if (!failed) await rm(root, { recursive: true, force: true }).catch(() => undefined);
}
console.log(
  JSON.stringify({
    checks: r.checks,
    order_violations: r.order_violations,
    lost_writes: r.lost_writes,
    other_problems: r.other_problems,
  }),
);
process.exit(failed ? 1 : 0);
