import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '@strata/server/server';

// scripts/install-cli.sh as scripts/up.sh runs it after bringing the server up: the `strata`
// wrapper it writes (here into a temporary bin directory instead of /usr/local/bin) and the
// `local` profile it makes from the credentials a real server (in-memory PGlite) bootstrapped in
// <STRATA_HOME>/server. The CLI is then run by name from the PATH, with no STRATA_* variables.

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../../scripts/install-cli.sh');
let server: RunningServer;
let dir = '';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a new operator's shell: no STRATA_* variables, no config outside HOME. */
function operatorEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STRATA_') && k !== 'XDG_CONFIG_HOME') env[k] = v;
  return {
    ...env,
    HOME: join(dir, 'home'),
    PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`,
    ...extra,
  };
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number')
        return reject(err instanceof Error ? err : new Error('failed'));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

const install = () =>
  run('bash', [SCRIPT], {
    ...operatorEnv(),
    STRATA_BIN_DIR: join(dir, 'bin'),
    STRATA_HOME: dir,
    STRATA_PORT: String(new URL(server.url).port),
  });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-install-'));
  server = await startServer({
    dataDir: join(dir, 'server'),
    databaseUrl: 'memory:',
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    jobs: false,
  });
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('before the server has credentials: the wrapper is installed, no profile is written', async () => {
  const r = await run('bash', [SCRIPT], {
    ...operatorEnv(),
    STRATA_BIN_DIR: join(dir, 'bin'),
    STRATA_HOME: join(dir, 'nothing-here'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /admin-credentials\.json yet/);
  assert.equal((await stat(join(dir, 'bin', 'strata'))).mode & 0o755, 0o755);
  await assert.rejects(stat(join(dir, 'home', '.config', 'strata', 'config.json')), { code: 'ENOENT' });
});

test('after it: `strata` on the PATH signs as the admin with the local profile, run after run', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await install();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /profile local saved/);
  }
  const configFile = join(dir, 'home', '.config', 'strata', 'config.json');
  assert.equal((await stat(configFile)).mode & 0o777, 0o600);
  const saved = JSON.parse(await readFile(configFile, 'utf8')) as {
    currentProfile: string;
    profiles: Record<string, { endpoint: string; apiKey: string }>;
  };
  assert.equal(saved.currentProfile, 'local');
  assert.deepEqual(Object.keys(saved.profiles), ['local']);
  assert.equal(saved.profiles['local']?.endpoint, server.url);
  assert.equal(saved.profiles['local']?.apiKey, server.bootstrap?.apiKey);

  const who = await run('strata', ['-o', 'json', 'whoami'], operatorEnv());
  assert.equal(who.code, 0, who.stderr);
  assert.equal((JSON.parse(who.stdout) as { role: string }).role, 'admin');
  const list = await run('strata', ['vm-snapshots', 'list'], operatorEnv());
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, '(none)\n');
});

test('a profile the config file lacks is one coded error line, in text and in JSON', async () => {
  const text = await run('strata', ['-p', 'nope', 'vms', 'list'], operatorEnv());
  assert.equal(text.code, 1);
  assert.equal(
    text.stderr,
    'error PROFILE_NOT_FOUND: no profile "nope" in the config file (strata config set-profile nope --endpoint URL ...)\n',
  );
  const json = await run('strata', ['-o', 'json', 'vms', 'list'], operatorEnv({ STRATA_PROFILE: 'nope' }));
  assert.equal(json.code, 1);
  assert.equal(json.stderr.split('\n').length, 2, json.stderr);
  assert.equal((JSON.parse(json.stderr) as { error: { code: string } }).error.code, 'PROFILE_NOT_FOUND');
});
