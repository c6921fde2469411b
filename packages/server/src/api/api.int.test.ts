import { vmDestroyJob } from '../orchestration/jobs/vm-destroy.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { volumeMachine } from '@strata/core';
import { createTestDatabase, dropTestDatabase, ensurePostgres } from '@strata/testing';
import { Writable } from 'node:stream';
import { formatExpires } from '../auth/rest-signing.js';
import { signParams } from '../auth/signature.js';
import type { JobDefinition } from '../jobs/index.js';
import { createLogger } from '../observability/index.js';
import { startServer, type RunningServer, type ServerExtension } from '../server.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

const GiB = 1024 ** 3;

/** A real job for the real engine: moves the volume Allocated -> Creating -> Ready in one transaction. */
const volumeCreateForTest: ServerExtension = {
  name: 'test-volume-create',
  start(ctx) {
    const def: JobDefinition<{ volumeId: string }> = {
      type: JOB_TYPES.volumeCreate,
      steps: [
        {
          name: 'mark-ready',
          transactional: true,
          async run(step, input) {
            const base = {
              table: 'volumes',
              kind: 'volume',
              machine: volumeMachine,
              id: input.volumeId,
              jobId: step.jobId,
            };
            await applyTransition(step.tx, ctx.services.events, { ...base, event: 'Create' });
            await applyTransition(step.tx, ctx.services.events, {
              ...base,
              event: 'Created',
              set: { backend_ref: `test/${input.volumeId}` },
            });
            return { ok: true };
          },
        },
      ],
    };
    ctx.engine.register(def);
    // The real destroy job: these VMs never ran on a host, so it only works on the database.
    const dbOnly = { db: ctx.db, events: ctx.services.events } as unknown as OrchestrationDeps;
    ctx.engine.register(vmDestroyJob(dbOnly, ctx.engine));
    return Promise.resolve();
  },
};

function expectError(r: ApiAnswer, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
  assert.equal(typeof r.body.error.retryable, 'boolean');
  assert.equal(r.body.error.status, status);
  if (field) assert.equal(r.body.error.details.field, field, JSON.stringify(r.body));
}

interface Variant {
  readonly name: string;
  readonly transport: 'inject' | 'http';
  readonly database: () => Promise<{ url: string; drop: () => Promise<void> }>;
  readonly skip?: string | false;
}

const pglite = () => Promise.resolve({ url: 'memory:', drop: () => Promise.resolve() });
const postgres = async () => {
  await ensurePostgres();
  const url = await createTestDatabase('api');
  return { url, drop: () => dropTestDatabase(url) };
};
const variants: Variant[] = [
  { name: 'PGlite, inject()', transport: 'inject', database: pglite },
  { name: 'PGlite, real HTTP', transport: 'http', database: pglite },
  { name: 'PostgreSQL, real HTTP', transport: 'http', database: postgres },
];

for (const variant of variants) {
  void describe(`REST API on ${variant.name}`, { skip: variant.skip ?? false }, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let admin: ApiClient;
    let dev: ApiClient;
    let anon: ApiClient;
    let poolId = '';
    let devUserId = '';
    const logLines: string[] = [];
    const logSink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-api-'));
      const db = await variant.database();
      drop = db.drop;
      server = await startServer(
        { dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0, logLevel: 'silent', jobs: true },
        {
          extensions: [volumeCreateForTest],
          logger: createLogger({ level: 'info', destination: logSink }),
          listen: variant.transport === 'http',
        },
      );
      const creds = server.bootstrap;
      assert.ok(creds, 'a fresh database bootstraps an admin');
      const target = variant.transport === 'http' ? { url: server.url } : { app: server.app };
      admin = new ApiClient(target, { apiKey: creds.apiKey, secretKey: creds.secretKey });
      anon = admin.as(null);
    });

    after(async () => {
      await server?.close();
      await drop?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('bootstrap writes the admin credentials to a 0600 file and they work', async () => {
      const file = join(dataDir, 'admin-credentials.json');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const saved = JSON.parse(await readFile(file, 'utf8')) as { apiKey: string };
      assert.equal(saved.apiKey, server.bootstrap?.apiKey);
      const me = await admin.get('/v1/auth/whoami');
      assert.equal(me.status, 200);
      assert.equal(me.body.role, 'admin');
      assert.equal(me.body.via, 'api-key');
    });

    void test('the OpenAPI 3.1 document lists the resources', async () => {
      const r = await anon.get('/openapi.json');
      assert.equal(r.status, 200);
      assert.equal(r.body.openapi, '3.1.0');
      for (const p of [
        '/v1/volumes',
        '/v1/storage-pools',
        '/v1/vm-snapshots/{id}/revert',
        '/v1/jobs/{id}',
        '/v1/api-keys',
      ]) {
        assert.ok(r.body.paths[p], `missing ${p}`);
      }
    });

    void test('unsigned, badly signed, expired and replayed requests get their coded errors', async () => {
      expectError(await anon.get('/v1/zones'), 401, 'AUTH_UNAUTHENTICATED');
      const creds = server.bootstrap!;
      const wrong = admin.as({ apiKey: creds.apiKey, secretKey: 'not-the-secret' });
      expectError(await wrong.get('/v1/zones'), 401, 'AUTH_BAD_SIGNATURE');
      const unknown = admin.as({ apiKey: 'no-such-key', secretKey: creds.secretKey });
      expectError(await unknown.get('/v1/zones'), 401, 'AUTH_BAD_SIGNATURE');

      // a correctly signed request whose expiry has passed
      const past = {
        apiKey: creds.apiKey,
        signatureVersion: '3',
        expires: formatExpires(new Date(Date.now() - 60_000)),
      };
      const base = {
        ...past,
        requestMethod: 'GET',
        requestPath: '/v1/zones',
        contentHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      };
      const expired = new URLSearchParams({
        ...past,
        signature: signParams(base, creds.secretKey),
      }).toString();
      expectError(
        await anon.request('GET', '/v1/zones', { rawQuery: expired }),
        401,
        'AUTH_SIGNATURE_EXPIRED',
      );

      // the same signed request twice: the first passes, the second is a replay
      const once = admin.sign('GET', '/v1/zones');
      assert.equal((await anon.request('GET', '/v1/zones', { rawQuery: once })).status, 200);
      expectError(await anon.request('GET', '/v1/zones', { rawQuery: once }), 401, 'AUTH_REPLAYED');

      // a signed body that was changed on the way
      const body = { name: 'zone-a' };
      const signed = admin.sign('POST', '/v1/zones', {}, JSON.stringify(body));
      expectError(
        await anon.request('POST', '/v1/zones', { rawQuery: signed, body: { name: 'zone-b' } }),
        401,
        'AUTH_BAD_SIGNATURE',
      );
    });

    void test('admin builds zone, cluster, pool and a user account with its own key', async () => {
      const zone = await admin.post('/v1/zones', { name: 'zone "1" <a&b>' });
      assert.equal(zone.status, 201, JSON.stringify(zone.body));
      assert.equal(zone.body.name, 'zone "1" <a&b>');
      expectError(await admin.post('/v1/zones', { name: 'zone "1" <a&b>' }), 409, 'ALREADY_EXISTS');
      const cluster = await admin.post('/v1/clusters', { zoneId: zone.body.id, name: 'c1' });
      assert.equal(cluster.status, 201);
      const pool = await admin.post('/v1/storage-pools', {
        name: 'tgt-1',
        zoneId: zone.body.id,
        clusterId: cluster.body.id,
        provider: 'tgt',
        scope: 'cluster',
        managed: true,
        capacityBytes: 100 * GiB,
        capacityIops: 1000,
        url: 'iscsi://127.0.0.1/pool',
        details: { reflinkDir: '/srv/x' },
      });
      assert.equal(pool.status, 201, JSON.stringify(pool.body));
      assert.equal(pool.body.state, 'Up');
      assert.equal(pool.body.usedMinIops, 0);
      poolId = pool.body.id;

      const account = await admin.post('/v1/accounts', { name: 'dev', role: 'user' });
      assert.equal(account.status, 201);
      const user = await admin.post(`/v1/accounts/${account.body.id}/users`, {
        username: 'dev-user',
        password: 'correct horse battery',
      });
      assert.equal(user.status, 201);
      devUserId = user.body.id;
      const key = await admin.post('/v1/api-keys', { userId: devUserId });
      assert.equal(key.status, 201);
      assert.ok(key.body.secretKey);
      dev = admin.as({ apiKey: key.body.apiKey, secretKey: key.body.secretKey });
      const me = await dev.get('/v1/auth/whoami');
      assert.equal(me.body.accountId, account.body.id);
      assert.equal(me.body.role, 'user');
      expectError(await dev.post('/v1/zones', { name: 'mine' }), 403, 'AUTH_FORBIDDEN');
    });

    void test('volume validation: QoS order, sizes, unknown pool, unknown fields, admission', async () => {
      const vol = (extra: Record<string, unknown>) =>
        dev.post('/v1/volumes', { name: 'v', poolId, sizeBytes: GiB, ...extra });
      expectError(
        await vol({ qos: { minIops: 500, maxIops: 100, burstIops: 200 } }),
        400,
        'INVALID_ARGUMENT',
        'minIops',
      );
      expectError(
        await vol({ qos: { minIops: 50, maxIops: 300, burstIops: 200 } }),
        400,
        'INVALID_ARGUMENT',
        'maxIops',
      );
      expectError(await vol({ sizeBytes: 0 }), 400, 'INVALID_ARGUMENT', 'sizeBytes');
      expectError(await vol({ sizeBytes: -5 }), 400, 'INVALID_ARGUMENT', 'sizeBytes');
      expectError(await vol({ sizeBytes: 2 ** 52 }), 400, 'INVALID_ARGUMENT', 'sizeBytes');
      expectError(await vol({ sizeBytes: 'big' }), 400, 'INVALID_ARGUMENT', 'sizeBytes');
      expectError(await vol({ colour: 'red' }), 400, 'INVALID_ARGUMENT', 'colour');
      expectError(await vol({ poolId: 'pool-missing' }), 404, 'NOT_FOUND');

      const first = await vol({ name: 'fast-1', qos: { minIops: 600, maxIops: 800, burstIops: 1000 } });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.equal(first.body.resource.state, 'Allocated');
      assert.equal(first.body.job.type, 'volume.create');
      assert.equal(first.headers['location'], `/v1/jobs/${first.body.job.id}`);
      expectError(
        await vol({ name: 'fast-2', qos: { minIops: 600, maxIops: 800 } }),
        409,
        'STORAGE_IOPS_EXHAUSTED',
      );
      expectError(await vol({ name: 'huge', sizeBytes: 200 * GiB }), 507, 'STORAGE_CAPACITY_EXHAUSTED');
      const pool = await admin.get(`/v1/storage-pools/${poolId}`);
      assert.equal(pool.body.usedMinIops, 600, 'the refused volumes took nothing');
      assert.equal(pool.body.volumeCount, 1);

      // the job runs on the real engine; ?wait answers when it is done
      const job = await dev.get(`/v1/jobs/${first.body.job.id}`, { wait: '20' });
      assert.equal(job.status, 200);
      assert.equal(job.body.state, 'Succeeded', JSON.stringify(job.body));
      const ready = await dev.get(`/v1/volumes/${first.body.resource.id}`);
      assert.equal(ready.body.state, 'Ready');
      // the backend's name of it is the operator's to see, not its owner's
      assert.equal(ready.body.backendRef, undefined);
      const asOperator = await admin.get(`/v1/volumes/${first.body.resource.id}`);
      assert.equal(asOperator.body.backendRef, `test/${first.body.resource.id}`);
      assert.deepEqual(ready.body.qos, { minIops: 600, maxIops: 800, burstIops: 1000, burstSeconds: 60 });
    });

    void test("another account's resources are NOT_FOUND and never listed", async () => {
      const mine = await admin.post('/v1/vms', { name: 'admin-vm' });
      assert.equal(mine.status, 201);
      expectError(await dev.get(`/v1/vms/${mine.body.id}`), 404, 'NOT_FOUND');
      expectError(await dev.post(`/v1/vms/${mine.body.id}/start`), 404, 'NOT_FOUND');
      const listed = await dev.get('/v1/vms');
      assert.ok(!listed.body.items.some((v: { id: string }) => v.id === mine.body.id));
      const devVolumes = await admin.get('/v1/volumes', {
        accountId: (await dev.get('/v1/auth/whoami')).body.accountId,
      });
      const theirs = devVolumes.body.items[0].id as string;
      const other = await admin.post('/v1/accounts', { name: 'other' });
      const otherUser = await admin.post(`/v1/accounts/${other.body.id}/users`, { username: 'other-user' });
      const otherKey = await admin.post('/v1/api-keys', { userId: otherUser.body.id });
      const stranger = admin.as({ apiKey: otherKey.body.apiKey, secretKey: otherKey.body.secretKey });
      expectError(await stranger.get(`/v1/volumes/${theirs}`), 404, 'NOT_FOUND');
      expectError(await stranger.delete(`/v1/volumes/${theirs}`), 404, 'NOT_FOUND');
      assert.equal((await stranger.get('/v1/volumes')).body.items.length, 0);
      assert.equal((await admin.get(`/v1/volumes/${theirs}`)).status, 200, 'an admin sees every account');
    });

    void test('an illegal state transition is a coded error and changes nothing', async () => {
      const vm = await dev.post('/v1/vms', { name: 'stopped-vm' });
      expectError(await dev.post(`/v1/vms/${vm.body.id}/stop`), 409, 'ILLEGAL_TRANSITION');
      assert.equal((await dev.get(`/v1/vms/${vm.body.id}`)).body.state, 'Stopped');
      expectError(await admin.delete(`/v1/storage-pools/${poolId}/maintenance`), 409, 'ILLEGAL_TRANSITION');
      const entered = await admin.post(`/v1/storage-pools/${poolId}/maintenance`);
      assert.equal(entered.body.state, 'Maintenance');
      expectError(
        await dev.post('/v1/volumes', { name: 'in-maint', poolId, sizeBytes: GiB }),
        409,
        'CONFLICT',
      );
      assert.equal((await admin.delete(`/v1/storage-pools/${poolId}/maintenance`)).body.state, 'Up');
      const destroyed = await dev.delete(`/v1/vms/${vm.body.id}`);
      assert.equal(destroyed.status, 202, JSON.stringify(destroyed.body));
      const job = await dev.get(`/v1/jobs/${destroyed.body.job.id}`, { wait: '60' });
      assert.equal(job.body.state, 'Succeeded', JSON.stringify(job.body));
      assert.equal((await dev.get(`/v1/vms/${vm.body.id}`)).body.state, 'Destroyed');
      expectError(await dev.delete(`/v1/vms/${vm.body.id}`), 409, 'ILLEGAL_TRANSITION');
    });

    void test('lists page by cursor and by page number, and filter', async () => {
      for (let i = 0; i < 7; i++)
        assert.equal((await dev.post('/v1/vms', { name: `page-${i}`, cpus: 1 + (i % 2) })).status, 201);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: ApiAnswer = await dev.get('/v1/vms', {
          limit: '3',
          name: '',
          ...(cursor ? { cursor } : {}),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.items.length <= 3);
        seen.push(...r.body.items.map((v: { name: string }) => v.name));
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor);
      const pageNames = seen.filter((n) => n.startsWith('page-'));
      assert.deepEqual(pageNames, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6']);
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      assert.ok(pages >= 3);
      const p2 = await dev.get('/v1/vms', { page: '2', pageSize: '2', total: 'true', state: 'Stopped' });
      assert.equal(p2.body.items.length, 2);
      assert.equal(p2.body.total, 7, 'seven Stopped VMs of this account');
      const one = await dev.get('/v1/vms', { name: 'page-4' });
      assert.deepEqual(
        one.body.items.map((v: { name: string }) => v.name),
        ['page-4'],
      );
      expectError(await dev.get('/v1/vms', { cursor: 'garbage' }), 400, 'INVALID_ARGUMENT', 'cursor');
      expectError(await dev.get('/v1/vms', { limit: '100000' }), 400, 'INVALID_ARGUMENT');
      expectError(await dev.get('/v1/vms', { colour: 'red' }), 400, 'INVALID_ARGUMENT', 'colour');
      const events = await dev.get('/v1/events', { resourceType: 'vm', limit: '500' });
      assert.ok(events.body.items.some((e: { type: string }) => e.type === 'vm.Destroy'));
    });

    void test('session tokens: login, use, wrong password, logout', async () => {
      expectError(
        await anon.post('/v1/auth/login', { username: 'dev-user', password: 'wrong password!' }),
        401,
        'AUTH_BAD_CREDENTIALS',
      );
      expectError(
        await anon.post('/v1/auth/login', { username: 'nobody', password: 'whatever123' }),
        401,
        'AUTH_BAD_CREDENTIALS',
      );
      const login = await anon.post('/v1/auth/login', {
        username: 'dev-user',
        password: 'correct horse battery',
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const session = anon.as({ token: login.body.token });
      const me = await session.get('/v1/auth/whoami');
      assert.equal(me.body.via, 'session');
      assert.equal(me.body.userId, devUserId);
      assert.equal((await session.post('/v1/auth/logout')).status, 204);
      expectError(await session.get('/v1/auth/whoami'), 401, 'AUTH_UNAUTHENTICATED');
    });

    void test('a revoked API key is refused at once', async () => {
      const key = await admin.post('/v1/api-keys', { userId: devUserId });
      const holder = admin.as({ apiKey: key.body.apiKey, secretKey: key.body.secretKey });
      assert.equal((await holder.get('/v1/auth/whoami')).status, 200);
      const listed = await dev.get('/v1/api-keys');
      assert.ok(
        listed.body.items.some(
          (k: { apiKey: string; secretKey?: string }) =>
            k.apiKey === key.body.apiKey && k.secretKey === undefined,
        ),
      );
      const revoked = await dev.delete(`/v1/api-keys/${key.body.apiKey}`);
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.ok(revoked.body.revokedAt);
      expectError(await holder.get('/v1/auth/whoami'), 401, 'AUTH_BAD_SIGNATURE');
    });

    void test('unknown routes, request ids and /metrics', async () => {
      const r = await admin.get('/v1/nothing-here');
      expectError(r, 404, 'API_ROUTE_NOT_FOUND');
      assert.ok(r.headers['x-request-id']);
      const m = await anon.get('/metrics');
      assert.equal(m.status, 200);
      assert.match(
        m.body,
        /strata_api_request_duration_seconds_bucket\{[^}]*route="\/v1\/volumes"[^}]*status="202"/,
      );
      assert.match(m.body, /strata_jobs\{state="Succeeded"\} [1-9]/);
      assert.match(m.body, /strata_agents_connected 0/);
      // structured logs carry the request id, and never a signature, key or token
      const lines = logLines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
      assert.ok(lines.some((l) => l.reqId === r.headers['x-request-id'] && l.msg === 'request completed'));
      assert.ok(!logLines.some((l) => /signature=|apiKey=|Bearer /.test(l)), 'no credentials in logs');
    });
  });
}
