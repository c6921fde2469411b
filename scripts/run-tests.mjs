#!/usr/bin/env node
// Runs the compiled tests with node's test runner, one file at a time: integration tests share
// daemons (libvirtd, tgtd, Ceph, PostgreSQL) that the harness starts once and reuses.
// Unit tests are `*.test.js`; integration tests are `*.int.test.js` (skipped with --unit).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', '--test-timeout=900000', ...selected],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
