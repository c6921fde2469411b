import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { ApiClient } from './api/test-client.js';
import { loadConfig } from './config.js';
import { DEFAULT_LIMITS } from './limits/index.js';

const MAIN = new URL('./main.js', import.meta.url).pathname;

/** Starts the real process entry; resolves with its URL once it logs that it listens. */
async function startMain(dataDir: string): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(
    process.execPath,
    [MAIN, '--data-dir', dataDir, '--port', '0', '--log-level', 'info', '--no-jobs'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // the agent channel listens too: a free port, so parallel runs do not collide
      env: { ...process.env, STRATA_AGENT_PORT: '0' },
    },
  );
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line in 150 s: ${lines.join('\n')}`)),
      150_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'strata server listening' && parsed.url) {
        clearTimeout(timer);
        resolve(parsed.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
  });
  return { child, url, lines };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

void test(
  'main.js: first start bootstraps on PGlite, credentials work, SIGTERM exits 0, a restart keeps them',
  { timeout: 400_000 },
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-main-'));
    try {
      const first = await startMain(dataDir);
      const creds = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as {
        apiKey: string;
        secretKey: string;
      };
      const client = new ApiClient({ url: first.url }, creds);
      assert.equal((await client.as(null).get('/healthz')).status, 200);
      const zone = await client.post('/v1/zones', { name: 'persisted' });
      assert.equal(zone.status, 201, JSON.stringify(zone.body));
      assert.equal(await stop(first.child), 0);

      const second = await startMain(dataDir);
      assert.ok(!second.lines.some((l) => l.includes('created the admin account')), 'no second bootstrap');
      const again = new ApiClient({ url: second.url }, creds);
      const zones = await again.get('/v1/zones', { name: 'persisted' });
      assert.equal(zones.body.items.length, 1, 'the data directory kept the zone');
      assert.equal(await stop(second.child), 0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
);

void test('config reads flags over environment over defaults', () => {
  const c = loadConfig(['--port', '9000', '--no-jobs'], {
    STRATA_DATA_DIR: '/tmp/sd',
    STRATA_PORT: '1',
    STRATA_DATABASE_URL: 'postgres://x/y',
  });
  assert.equal(c.port, 9000);
  assert.equal(c.dataDir, '/tmp/sd');
  assert.equal(c.databaseUrl, 'postgres://x/y');
  assert.equal(c.jobs, false);
  const d = loadConfig([], { STRATA_DATA_DIR: '/tmp/sd' });
  assert.equal(d.databaseUrl, '/tmp/sd/db', 'PGlite in the data directory by default');
  assert.equal(d.host, '127.0.0.1');
  assert.throws(() => loadConfig(['--port', 'http']), /port/);
});

void test('config reads the limits from their flags and variables', () => {
  const c = loadConfig(['--rate-limit', '10', '--job-waits', '3'], {
    STRATA_DATA_DIR: '/tmp/sd',
    STRATA_RATE_LIMIT: '99',
    STRATA_RATE_LIMIT_ANONYMOUS: '7',
  });
  assert.deepEqual(c.limits, {
    ...DEFAULT_LIMITS,
    requestsPerMinute: 10,
    anonymousPerMinute: 7,
    jobWaits: 3,
  });
  assert.deepEqual(loadConfig([], { STRATA_DATA_DIR: '/tmp/sd' }).limits, DEFAULT_LIMITS);
  assert.throws(() => loadConfig(['--job-waits-per-user', 'lots']), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => loadConfig(['--rate-limit']), /argument missing/);
});
