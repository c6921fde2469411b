import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '@strata/server/server';

// `strata secrets rotate` as an operator runs it: a separate process against a real server
// (in-memory PGlite) whose key file lives in a temporary data directory.

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.js');
let server: RunningServer;
let dir = '';

function strata(args: readonly string[], creds: { apiKey: string; secretKey: string }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          ...process.env,
          HOME: dir,
          STRATA_CONFIG: join(dir, 'none.json'),
          STRATA_ENDPOINT: server.url,
          STRATA_API_KEY: creds.apiKey,
          STRATA_SECRET_KEY: creds.secretKey,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(err instanceof Error ? err : new Error('process failed'));
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-secrets-'));
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

test('strata secrets rotate replaces the key file and the admin key keeps working', async () => {
  const creds = server.bootstrap;
  assert.ok(creds);
  const before = server.services.secrets.box.keyring.current.id;
  const r = await strata(['-o', 'json', 'secrets', 'rotate'], creds);
  assert.equal(r.code, 0, r.stderr);
  const rotation = JSON.parse(r.stdout) as { keyId: string; previousKeyId: string; removedKeyIds: string[] };
  assert.equal(rotation.previousKeyId, before);
  assert.equal(rotation.keyId, server.services.secrets.box.keyring.current.id);
  assert.deepEqual(rotation.removedKeyIds, [before]);
  assert.deepEqual(
    (await readdir(join(dir, 'server'))).filter((f) => f.startsWith('secrets.key')),
    ['secrets.key'],
  );
  const text = await strata(['secrets', 'rotate'], creds);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^key ${rotation.keyId} replaced by \\S+; sealed again: API keys 1, pools 0`),
  );
});
