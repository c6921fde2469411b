import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { serveConsole } from './static-files.js';

// The console's files on a real Fastify instance: exact routes only, typed, nothing else reachable.
test('serves the built files with their types and headers, and nothing outside them', async () => {
  const root = await mkdtemp(join(tmpdir(), 'strata-static-'));
  const dir = join(root, 'public');
  await mkdir(join(dir, 'img'), { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  await writeFile(join(dir, 'app.js'), 'export {};');
  await writeFile(join(dir, 'img', 'logo.svg'), '<svg/>');
  await writeFile(join(dir, 'notes.txt'), 'not a console file');
  await writeFile(join(root, 'secret.json'), '{"key":"outside the directory"}');
  const app = Fastify();
  try {
    assert.equal(await serveConsole(app, dir), 3);
    const index = await app.inject({ method: 'GET', url: '/' });
    assert.equal(index.statusCode, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(index.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const js = await app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.body, 'export {};');
    assert.equal(
      (await app.inject({ method: 'GET', url: '/img/logo.svg' })).headers['content-type'],
      'image/svg+xml',
    );
    for (const url of [
      '/notes.txt',
      '/../secret.json',
      '/%2e%2e/secret.json',
      '/img/..%2f..%2fsecret.json',
      '/img/',
    ])
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
  } finally {
    await app.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a directory without index.html serves nothing', async () => {
  const app = Fastify();
  assert.equal(await serveConsole(app, join(tmpdir(), 'strata-no-such-console')), 0);
  assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 404);
  await app.close();
});
