#!/usr/bin/env node
// Runs the compiled tests with node's test runner: unit files first, then integration files in one
// lane or two (below), each file in its own process. Integration tests share daemons (libvirtd,
// tgtd, Ceph, PostgreSQL) that the harness starts once and reuses. At the end it prints the slowest
// files, what the tests left behind (removed: see test-residue.mjs) and one line of totals.
// Unit tests are `*.test.js`; integration tests are `*.int.test.js` (skipped with --unit).
import { spawn, spawnSync } from 'node:child_process';
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

// Integration files run one at a time in each of two lanes: the crash, torture and volume-snapshot
// tests (whole-stack runs that mostly wait on server restarts, booting guests and backend CLIs,
// about half of the integration time) in the second, the rest in the first; the shared daemons
// take cross-process locks when they start. `--lanes=1` runs them all in one lane.
const SECOND_LANE = [
  /\/crash-[^/]*\.int\.test\.js$/,
  /\/torture\.int\.test\.js$/,
  /\/volume-snapshots\.int\.test\.js$/,
];
const twoLanes = !process.argv.includes('--lanes=1');
const second = twoLanes ? integration.filter((f) => SECOND_LANE.some((r) => r.test(f))) : [];
const first = integration.filter((f) => !second.includes(f));

// A whole-stack crash sweep restarts a server at every step boundary of a job: on a machine busy with
// the demo's VM and the other lane, one file may take most of a quarter hour.
const FILE_TIMEOUT_MS = 1_500_000;
const ARGS = ['--test', '--test-reporter=spec', `--test-timeout=${FILE_TIMEOUT_MS}`];
const run = randomBytes(4).toString('hex');
const times = [];
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
const leftovers = [];

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
      count(text);
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

/** Runs files one after another; resolves with the first non-zero exit code, or 0. */
async function lane(laneFiles, out, offset) {
  let status = 0;
  for (const [i, f] of laneFiles.entries()) status = (await runFile(f, offset + i, out)) || status;
  return status;
}

const runner = registerRunner();
const before = integration.length > 0 ? await residueSnapshot() : null;
let status = 0;
if (unit.length > 0) {
  const r = spawnSync(process.execPath, [...ARGS, ...unit], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  count(r.stdout.toString());
  status = r.status ?? 1;
}
if (integration.length > 0) {
  const laneDir = mkdtempSync(join(tmpdir(), 'strata-lane-'));
  const secondLog = join(laneDir, 'second-lane.log');
  if (second.length > 0)
    console.log(
      `running ${second.length} integration files in a second lane (printed when it ends): ${second.join(' ')}`,
    );
  const secondOut = createWriteStream(secondLog);
  const [a, b] = await Promise.all([lane(first, process.stdout, 0), lane(second, secondOut, first.length)]);
  await new Promise((r) => secondOut.end(r));
  if (second.length > 0) {
    console.log('\n──────── second lane ────────');
    process.stdout.write(readFileSync(secondLog, 'utf8'));
  }
  rmSync(laneDir, { recursive: true, force: true });
  status = status || a || b;
  if (runner.alone()) leftovers.push(...(await removeNew(before)).map((l) => `after the suite: ${l}`));
  else console.log('\nanother test run shared this machine: domains, targets and images left as they are');
}

const slowest = [...times].sort((x, y) => y.ms - x.ms).slice(0, 12);
if (slowest.length > 0) {
  console.log('\nslowest test files:');
  for (const t of slowest) console.log(`  ${(t.ms / 1000).toFixed(0).padStart(5)} s  ${t.file}`);
}
if (leftovers.length > 0) {
  console.log(`\nleft behind by tests (removed): ${leftovers.length}`);
  for (const l of leftovers) console.log(`  ${l}`);
}
// a test cut short by its timeout is reported cancelled: a failure all the same
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(status);
