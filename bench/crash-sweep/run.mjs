#!/usr/bin/env node
// bench/crash-sweep: the exhaustive crash sweep, run by hand. CI's crash tests visit a sample of
// each job's step boundaries (packages/demo/src/crash-sample.ts); this runs the same test files
// with STRATA_CRASH_SWEEP=all, so the server is SIGKILLed at every boundary of VM-snapshot create,
// revert and delete, live migration and host maintenance (and, for those two, every agent too), the
// volume jobs and VM stop and start. Resumable: a file already passed at this commit is not run again (--again
// runs them all). Writes bench/results/crash-sweep.json after each file.
// Usage: npx tsc -b && node bench/crash-sweep/run.mjs [--again] [name-filter ...]
import { spawn, execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(here, '..', 'results', 'crash-sweep.json');
const FILES = [
  'crash-create',
  'crash-revert',
  'crash-delete',
  'crash-migrate',
  'crash-jobs',
  'crash-snapshot-jobs',
].map((n) => join(root, 'packages', 'demo', 'dist', `${n}.int.test.js`));
const again = process.argv.includes('--again');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();

// A case line, as crash-run.ts's describeOutcome prints it.
const CASE =
  /^\S+ ((?:agents at )?\S+:\S+:(?:before|after)): killed=(true|false) job (Succeeded|Failed \S*) in (\d+) ms.*problems: (.*)$/;

async function previous() {
  try {
    return JSON.parse(await readFile(out, 'utf8'));
  } catch {
    return { files: {} };
  }
}

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
      cwd: root,
      env: { ...process.env, STRATA_CRASH_SWEEP: 'all' },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    const cases = [];
    let pending = '';
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const m = CASE.exec(line);
        if (m)
          cases.push({ point: m[1], killed: m[2] === 'true', job: m[3], ms: Number(m[4]), problems: m[5] });
      }
    });
    child.on('close', (code) =>
      resolve({ passed: code === 0, cases, seconds: Math.round((Date.now() - t0) / 1000) }),
    );
  });
}

const results = await previous();
for (const file of FILES.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))) {
  const name = file.split('/').at(-1).replace('.int.test.js', '');
  const done = results.files[name];
  if (!again && done?.commit === commit && done.passed) {
    console.log(`${name}: passed at ${commit.slice(0, 12)} already (--again to run it again)`);
    continue;
  }
  console.log(`${name}: every boundary`);
  const r = await runFile(file);
  results.files[name] = { commit, at: new Date().toISOString(), host: hostname(), ...r };
  results.points_total = Object.values(results.files).reduce((n, f) => n + f.cases.length, 0);
  results.points_failed = Object.values(results.files).reduce(
    (n, f) => n + f.cases.filter((c) => !c.killed || c.problems !== 'none').length,
    0,
  );
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`${name}: ${r.passed ? 'passed' : 'FAILED'}, ${r.cases.length} points, ${r.seconds} s`);
}
