import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApiClient } from './client.js';

// A small HTTP server that refuses with the API's 429 answer as often as told, then answers.
let server: Server;
let endpoint = '';
let refusals = 0;
const arrivals: Array<{ at: number; signature: string | null }> = [];

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    arrivals.push({ at: Date.now(), signature: url.searchParams.get('signature') });
    res.setHeader('content-type', 'application/json');
    if (refusals > 0) {
      refusals--;
      res.statusCode = 429;
      res.setHeader('retry-after', '1');
      const error = { code: 'RATE_LIMITED', message: 'Too many', status: 429, retryable: true };
      res.end(JSON.stringify({ error: { ...error, details: { what: 'job waits', retryAfterSeconds: 1 } } }));
      return;
    }
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new ApiClient({ endpoint, apiKey: 'k', secretKey: 's' });

void test('a RATE_LIMITED answer is retried after its Retry-After, signed afresh', async () => {
  arrivals.length = 0;
  refusals = 1;
  assert.deepEqual(await client().get('/v1/jobs/j1', { wait: 1 }), { ok: true });
  const [first, second] = arrivals;
  assert.ok(first && second, JSON.stringify(arrivals));
  assert.ok(second.at - first.at >= 950, `retried after ${second.at - first.at} ms`);
  assert.notEqual(first.signature, second.signature);
});

void test('past its retries the refusal reaches the caller with its code', async () => {
  arrivals.length = 0;
  refusals = 10;
  await assert.rejects(client().request('GET', '/v1/zones', {}, 1), { code: 'RATE_LIMITED', status: 429 });
  assert.equal(arrivals.length, 2);
  refusals = 0;
});
