#!/usr/bin/env node
// Runs the compiled tests with node's test runner: unit files first, then integration files in one
// lane or two (below). Integration tests share daemons (libvirtd, tgtd, Ceph, PostgreSQL) that the
// harness starts once and reuses.
// Unit tests are `*.test.js`; integration tests are `*.int.test.js` (skipped with --unit).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

const ARGS = ['--test', '--test-concurrency=1', '--test-reporter=spec', '--test-timeout=900000'];

/** Runs node --test on files; resolves with its exit code. Output to ours, or to a file when given. */
function lane(laneFiles, outFile) {
  if (laneFiles.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const out = outFile ? openSync(outFile, 'w') : 'inherit';
    const child = spawn(process.execPath, [...ARGS, ...laneFiles], { stdio: ['ignore', out, out] });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let status = 0;
if (unit.length > 0)
  status = spawnSync(process.execPath, [...ARGS, ...unit], { stdio: 'inherit' }).status ?? 1;
if (integration.length > 0) {
  const laneDir = mkdtempSync(join(tmpdir(), 'strata-lane-'));
  const secondLog = join(laneDir, 'second-lane.log');
  if (second.length > 0)
    console.log(
      `running ${second.length} integration files in a second lane (printed when it ends): ${second.join(' ')}`,
    );
  const [a, b] = await Promise.all([lane(first), lane(second, secondLog)]);
  if (second.length > 0) {
    console.log('\n──────── second lane ────────');
    process.stdout.write(readFileSync(secondLog, 'utf8'));
  }
  rmSync(laneDir, { recursive: true, force: true });
  status = status || a || b;
}
process.exit(status);
