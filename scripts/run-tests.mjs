#!/usr/bin/env node
// Runs the compiled tests with node's test runner: unit files first, then integration files in one
// lane or two (below), each file in its own process. Integration tests share daemons (libvirtd,
// tgtd, Ceph, PostgreSQL) that the harness starts once and reuses. At the end it prints the slowest
// files, what the tests left behind (removed: see test-residue.mjs) and one line of totals.
// Unit tests are `*.test.js`; integration tests are `*.int.test.js` (skipped with --unit).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { killMarked, registerRunner, removeNew, residueSnapshot } from './test-residue.mjs';

const unitOnly = process.argv.includes('--unit');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    let isDir;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      continue; // removed while we scanned (a concurrent build)
    }
    if (isDir) walk(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of ['packages', 'bench']) {
  try {
    walk(pkg, [])
      .filter((f) => f.includes('/dist/'))
      .forEach((f) => files.push(f));
  } catch {
    // a folder that does not exist yet holds no tests
  }
}
const selected = files
  .filter((f) => !unitOnly || !f.endsWith('.int.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  // unit tests first: they fail fast and need nothing started
  .sort(
    (a, b) => Number(a.endsWith('.int.test.js')) - Number(b.endsWith('.int.test.js')) || a.localeCompare(b),
  );

// node --test with no file runs every test it can find: never let an empty selection do that.
if (selected.length === 0) {
  console.error(
    `no test file matched ${filters.length ? filters.join(', ') : '(all)'}; build first (npm run build)`,
  );
  process.exit(1);
}

const unit = selected.filter((f) => !f.endsWith('.int.test.js'));
const integration = selected.filter((f) => f.endsWith('.int.test.js'));

// Integration files run in two lanes, one file at a time in each, both taking the next file from
// one queue, longest expected first (so the lanes end together); the shared daemons take
// cross-process locks when they start. `--lanes=1` runs them all in one lane. Expected seconds
// for the long files, from CI runs on a 2-core machine beside the demo (only the order uses them).
const EXPECTED_S = [
  [/\/crash-revert\.int\.test\.js$/, 450],
  [/\/crash-migrate\.int\.test\.js$/, 480],
  [/\/crash-fence\.int\.test\.js$/, 240],
  [/\/crash-jobs\.int\.test\.js$/, 570],
  [/\/crash-snapshot-jobs\.int\.test\.js$/, 300],
  [/\/torture\.int\.test\.js$/, 310],
  [/\/io-error-resume\.int\.test\.js$/, 240],
  [/\/crash-delete\.int\.test\.js$/, 260],
  [/\/crash-create\.int\.test\.js$/, 360],
  [/\/migrate-undo\.int\.test\.js$/, 200],
  [/\/rbd\/dist\/conformance\.int\.test\.js$/, 210],
  [/\/server-namespace\.int\.test\.js$/, 200],
  [/\/demo\/dist\/hosts\.int\.test\.js$/, 200],
  [/\/cli-vm\.int\.test\.js$/, 185],
  [/\/disk-move\.int\.test\.js$/, 200],
  [/\/cloudstack\/vm-lifecycle\.int\.test\.js$/, 130],
  [/\/vmsnapshots\/stop-label\.int\.test\.js$/, 150],
  [/\/cloudstack-ansible\.int\.test\.js$/, 380],
  // the console in headless Chromium: a VM, three snapshots, a revert that restarts it, QoS
  [/\/console\/dist\/browser\/console\.int\.test\.js$/, 240],
  [/\/(memory-revert|quiesce-deadline|volume-lifecycle|crash-orphans|quiesce-modes)\.int\.test\.js$/, 145],
];
const expected = (f) => EXPECTED_S.find(([r]) => r.test(f))?.[1] ?? 60;
const lanes = process.argv.includes('--lanes=1') ? 1 : 2;
const queue = [...integration].sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));
// The crash tests share one Ceph pool (emptied when each starts), one port range and one server
// id; they and the torture test are also the heaviest (a writing guest on three backends, servers
// restarted): never two of them at once (two together took the machine to load 20).
const EXCLUSIVE = [/\/(crash-[^/]*|torture)\.int\.test\.js$/];
const groupOf = (f) => (EXCLUSIVE.some((r) => r.test(f)) ? 0 : -1);

// A whole-stack crash sweep restarts a server at every step boundary of a job: on a machine busy with
// the demo's VM and the other lane, one file may take most of a quarter hour.
const FILE_TIMEOUT_MS = 1_500_000;
const ARGS = ['--test', '--test-reporter=spec', `--test-timeout=${FILE_TIMEOUT_MS}`];
// Every embedded database the tests make starts from one cached initdb (db/pglite-template.ts):
// dozens of servers each running initdb cost minutes of CPU.
process.env.STRATA_PGLITE_TEMPLATE ??= '/var/tmp/strata-pglite-template';
const run = randomBytes(4).toString('hex');
const suiteStart = Date.now();
const times = [];
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
const leftovers = [];
const failures = [];

/**
 * The spec reporter's "failing tests" section of a file, shortened (no stack frames, at most 40
 * lines a file): printed again at the end, where a CI log's tail shows it.
 */
function failuresOf(file, text) {
  const at = text.lastIndexOf('✖ failing tests:');
  if (at < 0) return;
  const lines = text
    .slice(at)
    .split('\n')
    .slice(1)
    .filter((l) => !/^\s+at /.test(l) && l.trim() !== '');
  failures.push(`${file}:`, ...lines.slice(0, 40).map((l) => `  ${l}`));
  if (lines.length > 40) failures.push(`  … ${lines.length - 40} more lines above, in the file's output`);
}

/** Adds a file's `ℹ pass N` (and fail, skipped) summary lines to the run's totals. */
function count(text) {
  for (const key of Object.keys(totals)) {
    // the file's own summary is its last such line
    const m = [...text.matchAll(new RegExp(`^\\S* ?${key} (\\d+)$`, 'gm'))].at(-1);
    if (m) totals[key] += Number(m[1]);
  }
}

/**
 * Runs one test file in its own node --test process, marked STRATA_TEST_FILE in its environment
 * (which every process it starts inherits), then kills whatever of its own it left running.
 * Resolves with its exit code. Output to `out` (a stream), also counted.
 */
function runFile(file, index, out) {
  const marker = `STRATA_TEST_FILE=${run}-${index}`;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...ARGS, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STRATA_TEST_FILE: `${run}-${index}` },
      detached: true,
    });
    let text = '';
    const take = (d) => {
      text += d.toString();
      out.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // node --test ends a file at its own timeout; this is the backstop if that ever hangs.
    const backstop = setTimeout(() => {
      out.write(`strata: ${file} still running after ${FILE_TIMEOUT_MS / 1000 + 120} s: killed\n`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, FILE_TIMEOUT_MS + 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(backstop);
      const ms = Date.now() - t0;
      times.push({ file, ms });
      const at = ((Date.now() - suiteStart) / 1000).toFixed(0);
      out.write(
        `strata: ${file} ended at +${at} s after ${(ms / 1000).toFixed(0)} s (exit ${code ?? signal})\n`,
      );
      count(text);
      failuresOf(file, text);
      runner.look();
      const left = killMarked(marker);
      if (left.length > 0) {
        leftovers.push(...left.map((l) => `${file}: ${l}`));
        out.write(`strata: ${file} left running (killed): ${left.join(', ')}\n`);
      }
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * Takes files from the queue one after another, the first whose group (EXCLUSIVE) no other lane is
 * running; resolves with the first non-zero exit code, or 0.
 */
const busy = new Set();
const waiting = [];
let started = 0;
async function lane(out) {
  let status = 0;
  while (queue.length > 0) {
    const i = queue.findIndex((f) => groupOf(f) < 0 || !busy.has(groupOf(f)));
    if (i < 0) {
      await new Promise((r) => waiting.push(r)); // until a file of the other lane ends
      continue;
    }
    const [file] = queue.splice(i, 1);
    const group = groupOf(file);
    if (group >= 0) busy.add(group);
    status = (await runFile(file, started++, out)) || status;
    busy.delete(group);
    waiting.splice(0).forEach((wake) => wake());
  }
  return status;
}

/** The unit files in one node --test process; resolves with its exit code once its output is printed. */
function runUnit() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...ARGS, ...unit], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d.toString()));
    child.stderr.on('data', (d) => (text += d.toString()));
    child.on('close', (code, signal) => {
      process.stdout.write(`\n──────── unit tests ────────\n${text}`);
      count(text);
      failuresOf('unit tests', text);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const runner = registerRunner();
const before = integration.length > 0 ? await residueSnapshot() : null;
let status = 0;
// The unit tests run beside the integration lanes (they need nothing started); their output is
// printed when they end, whole, so that it never interleaves with a lane's.
const unitRun = unit.length > 0 ? runUnit() : Promise.resolve(0);
if (integration.length === 0) status = await unitRun;
if (integration.length > 0) {
  const laneDir = mkdtempSync(join(tmpdir(), 'strata-lane-'));
  const secondLog = join(laneDir, 'second-lane.log');
  if (lanes > 1)
    console.log(`running ${queue.length} integration files in two lanes (the second printed when it ends)`);
  const secondOut = createWriteStream(secondLog);
  const [a, b] = await Promise.all([lane(process.stdout), lanes > 1 ? lane(secondOut) : 0]);
  await new Promise((r) => secondOut.end(r));
  if (lanes > 1) {
    console.log('\n──────── second lane ────────');
    process.stdout.write(readFileSync(secondLog, 'utf8'));
  }
  rmSync(laneDir, { recursive: true, force: true });
  status = (await unitRun) || a || b;
  if (runner.alone()) leftovers.push(...(await removeNew(before)).map((l) => `after the suite: ${l}`));
  else console.log('\nanother test run shared this machine: domains, targets and images left as they are');
}

// Every file of 30 s or more, and the sums that bound the run: the files that never run beside
// each other (EXCLUSIVE) and all files (over the lanes): what to trim when CI grows too long.
const slowest = [...times].sort((x, y) => y.ms - x.ms).filter((t, i) => i < 12 || t.ms >= 30_000);
if (slowest.length > 0) {
  const sum = (list) => (list.reduce((s, t) => s + t.ms, 0) / 1000).toFixed(0);
  console.log('\nslowest test files:');
  for (const t of slowest) console.log(`  ${(t.ms / 1000).toFixed(0).padStart(5)} s  ${t.file}`);
  console.log(
    `integration files: ${sum(times)} s in all over ${lanes} lane(s); ` +
      `the ones never run side by side: ${sum(times.filter((t) => groupOf(t.file) >= 0))} s`,
  );
}
if (leftovers.length > 0) {
  console.log(`\nleft behind by tests (removed): ${leftovers.length}`);
  for (const l of leftovers) console.log(`  ${l}`);
}
if (failures.length > 0) {
  console.log('\nfailures (shortened):');
  for (const l of failures) console.log(`  ${l}`);
}
// a test cut short by its timeout is reported cancelled: a failure all the same
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(status);
