import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  envFileNames,
  examplesOf,
  execStart,
  namesReadBy,
  parseUnit,
  unitProblems,
  values,
} from './deploy-checks.js';

const repo = new URL('../../../', import.meta.url).pathname;
const unitsDir = join(repo, 'deploy/systemd');
const read = (path: string) => readFile(path, 'utf8');

async function units(): Promise<string[]> {
  return (await readdir(unitsDir)).filter((f) => f.endsWith('.service')).sort();
}

test('the shipped units are the server and the agent', async () => {
  assert.deepEqual(await units(), ['strata-agent.service', 'strata-server.service']);
});

test('each unit parses, runs a built entry point and names only settings its process reads', async () => {
  for (const u of await units())
    assert.deepEqual(await unitProblems(repo, u, await read(join(unitsDir, u))), []);
});

test('every env example belongs to a unit', async () => {
  const claimed = new Set<string>();
  for (const u of await units())
    for (const f of values(parseUnit(await read(join(unitsDir, u)), u), 'Service', 'EnvironmentFile'))
      for (const ex of await examplesOf(repo, f)) claimed.add(ex);
  const all = (await readdir(join(repo, 'deploy/etc/strata'))).map((f) => join(repo, 'deploy/etc/strata', f));
  assert.deepEqual(
    all.filter((f) => !claimed.has(f)),
    [],
  );
});

test('the drop-ins parse and only add dependencies', async () => {
  const dir = join(unitsDir, 'strata-agent.service.d');
  for (const f of await readdir(dir)) {
    const unit = parseUnit(await read(join(dir, f)), f);
    assert.deepEqual([...unit.keys()], ['Unit'], f);
    for (const [k] of unit.get('Unit')!) assert.ok(['Wants', 'After', 'PartOf'].includes(k), `${f}: ${k}`);
  }
});

test('every STRATA_* setting docs/deploy.md names is read by the code', async () => {
  const named = [...(await read(join(repo, 'docs/deploy.md'))).matchAll(/\bSTRATA_[A-Z0-9_]+\b/g)].map(
    (m) => m[0],
  );
  const dirs = ['server', 'agent', 'cli', 'core'].map((p) => join(repo, 'packages', p, 'src'));
  const readNames = await namesReadBy(dirs);
  assert.ok(named.length > 20, `${named.length} names`);
  assert.deepEqual([...new Set(named.filter((n) => !readNames.has(n)))], []);
});

test('systemd-analyze verify accepts the units and the drop-in', async (t) => {
  const tool = await promisify(execFile)('systemd-analyze', ['--version']).catch(() => null);
  if (!tool) return t.skip('systemd-analyze is not installed: the ini checks above stand alone');
  if (
    !(await access('/usr/bin/node').then(
      () => true,
      () => false,
    ))
  )
    return t.skip('no /usr/bin/node here: verify would refuse ExecStart for that reason alone');
  // the drop-in beside strata-agent.service is read from the same directory
  const r = await promisify(execFile)('systemd-analyze', ['verify', ...(await units())], {
    cwd: unitsDir,
  }).then(
    (o) => ({ code: 0, stderr: o.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  const ours = r.stderr.split('\n').filter((l) => /strata|deploy\/systemd|\.conf:/.test(l));
  assert.deepEqual({ code: r.code, ours }, { code: 0, ours: [] });
});

test('the checks fail on a wrong unit', async () => {
  const bad = [
    '[Unit]',
    'Description=x',
    '[Service]',
    'EnvironmentFile=/etc/strata/nowhere.env',
    'Environment=STRATA_NOT_A_SETTING=1',
    'ExecStart=/usr/bin/node /opt/strata/packages/server/dist/no-such-main.js',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
  const problems = await unitProblems(repo, 'bad.service', bad);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /no Restart=/);
  assert.match(problems.join('\n'), /no-such-main\.js is not in the build/);
  assert.match(problems.join('\n'), /no example in deploy\/etc\/strata/);
  assert.match(problems.join('\n'), /STRATA_NOT_A_SETTING is not read/);
  assert.throws(() => parseUnit('Restart=always\n', 'x'), /before any section/);
  assert.throws(() => parseUnit('[Service]\nExecStart\n', 'x'), /not a section/);
  assert.throws(
    () => execStart(parseUnit('[Service]\nExecStart=/usr/bin/node /srv/main.js\n', 'x'), 'x'),
    /under/,
  );
  assert.throws(() => envFileNames('export STRATA_PORT=1\n', 'x.env'), /not a comment/);
});

test('a name only in help text, a comment or a test is not read', async () => {
  const server = await namesReadBy([join(repo, 'packages/server/src')]);
  assert.ok(server.has('STRATA_DATABASE_URL') && server.has('STRATA_AGENT_PORT'));
  // in the agent's config only: the server's sources mention it in comments and tests
  assert.equal(server.has('STRATA_AGENT_ROLES'), false);
  // a test hook of the demo, never read by the server's product code
  assert.equal(server.has('STRATA_CRASH_SEED'), false);
});
