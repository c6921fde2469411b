import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// Hostile requests against a real server (real HTTP) on PGlite and on PostgreSQL: re-spelled
// signatures, a tenant reading the infrastructure, stored secrets in answers, template paths
// and forged paging (docs/security.md).

const GiB = 1024 ** 3;

function expectError(r: ApiAnswer, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  if (field) assert.equal(r.body.error.details.field, field, JSON.stringify(r.body));
  assert.doesNotMatch(JSON.stringify(r.body), /syntax|SQL|relation|postgres|timestamp with time zone/i);
}

/** Spellings of one base64 signature that Node's lenient decoder reads as the same 20 bytes. */
export function respellings(signature: string): Record<string, string> {
  const bare = signature.replace(/=+$/, '');
  return {
    'padding stripped': bare,
    '=junk appended': `${signature}junk`,
    'double padding': `${signature}=`,
    'space inside': `${signature.slice(0, 10)} ${signature.slice(10)}`,
    'newline inside': `${signature.slice(0, 5)}\n${signature.slice(5)}`,
    'tab before': `\t${signature}`,
    'base64url alphabet': signature.replace(/\+/g, '-').replace(/\//g, '_'),
    'dot inside': `${signature.slice(0, 7)}.${signature.slice(7)}`,
  };
}

function withSignature(query: string, signature: string): string {
  const p = new URLSearchParams(query);
  p.set('signature', signature);
  return p.toString();
}

for (const database of TEST_DATABASES) {
  void describe(`hostile requests on ${database.name}`, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let admin: ApiClient;
    let tenant: ApiClient;
    let zoneId = '';
    let poolId = '';
    let hostId = '';
    let templateId = '';
    const chapKey = 'master-chap-secret-0123456789';
    const portalPassword = 'portal-pass-987';
    const hostAddress = '10.77.0.9';
    const initiator = 'iqn.2026-12.test:secret-host';

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-sec-'));
      const db = await database.open();
      drop = db.drop;
      server = await startServer(
        {
          dataDir,
          databaseUrl: db.url,
          host: '127.0.0.1',
          port: 0,
          logLevel: 'silent',
          jobs: false,
          templateDirs: [join(dataDir, 'templates')],
        },
        { listen: true },
      );
      const creds = server.bootstrap;
      assert.ok(creds);
      admin = new ApiClient({ url: server.url }, { apiKey: creds.apiKey, secretKey: creds.secretKey });
      const zone = await admin.post('/v1/zones', { name: 'z' });
      zoneId = zone.body.id;
      const cluster = await admin.post('/v1/clusters', { zoneId, name: 'c' });
      const pool = await admin.post('/v1/storage-pools', {
        name: 'tgt-chap',
        zoneId,
        clusterId: cluster.body.id,
        provider: 'tgt',
        scope: 'cluster',
        managed: true,
        capacityBytes: 100 * GiB,
        capacityIops: 1000,
        url: `iscsi://admin:${portalPassword}@10.0.0.5/pool`,
        details: { chapKey, reflinkDir: '/srv/secret-dir' },
      });
      assert.equal(pool.status, 201, JSON.stringify(pool.body));
      poolId = pool.body.id;
      hostId = 'host-sec-1';
      await server.services.db.query(
        `INSERT INTO hosts (id, cluster_id, name, state, address, iscsi_initiator) VALUES ($1,$2,'h1','Up',$3,$4)`,
        [hostId, cluster.body.id, hostAddress, initiator],
      );
      await mkdir(join(dataDir, 'templates'), { recursive: true });
      await writeFile(join(dataDir, 'templates', 'base.qcow2'), '');
      // This server runs no agent channel, so nothing could check a template file: the row is
      // written as registration would (template-files.int covers registration itself).
      templateId = 'tmpl-sec-1';
      await server.services.db.query(
        `INSERT INTO templates (id, name, path, format, size_bytes) VALUES ($1, 'base', $2, 'qcow2', $3)`,
        [templateId, join(dataDir, 'templates', 'base.qcow2'), GiB],
      );
      const account = await admin.post('/v1/accounts', { name: 'tenant', role: 'user' });
      const user = await admin.post(`/v1/accounts/${account.body.id}/users`, {
        username: 'tenant-user',
        password: 'correct horse battery',
      });
      const key = await admin.post('/v1/api-keys', { userId: user.body.id });
      tenant = admin.as({ apiKey: key.body.apiKey, secretKey: key.body.secretKey });
    });

    after(async () => {
      await server?.close();
      await drop?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('a signed request re-sent with its signature re-spelled is refused, and nothing runs twice', async () => {
      const body = { name: 'zone-once' };
      const signed = admin.sign('POST', '/v1/zones', {}, JSON.stringify(body));
      const first = await admin.request('POST', '/v1/zones', { rawQuery: signed, body });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const signature = new URLSearchParams(signed).get('signature') ?? '';
      for (const [how, spelled] of Object.entries(respellings(signature))) {
        // each spelling is one the lenient decoder took for the same bytes
        assert.deepEqual(Buffer.from(spelled, 'base64'), Buffer.from(signature, 'base64'), how);
        const again = await admin.request('POST', '/v1/zones', {
          rawQuery: withSignature(signed, spelled),
          body,
        });
        assert.equal(again.status, 401, `${how}: ${again.status} ${JSON.stringify(again.body)}`);
        assert.match(again.body.error.code, /^AUTH_(BAD_SIGNATURE|REPLAYED)$/, how);
      }
      expectError(await admin.request('POST', '/v1/zones', { rawQuery: signed, body }), 401, 'AUTH_REPLAYED');
      const zones = await admin.get('/v1/zones', { name: 'zone-once' });
      assert.equal(zones.body.items.length, 1, 'created exactly once');
    });

    void test('a tenant reads no host, a pool only as id/name/provider, templates without paths', async () => {
      expectError(await tenant.get('/v1/hosts'), 403, 'AUTH_FORBIDDEN');
      expectError(await tenant.get(`/v1/hosts/${hostId}`), 403, 'AUTH_FORBIDDEN');
      const pools = await tenant.get('/v1/storage-pools');
      assert.equal(pools.status, 200);
      assert.deepEqual(Object.keys(pools.body.items[0]).sort(), [
        'createdAt',
        'id',
        'name',
        'provider',
        'state',
        'zoneId',
      ]);
      const pool = await tenant.get(`/v1/storage-pools/${poolId}`);
      assert.equal(pool.status, 200);
      assert.equal(pool.body.url, undefined);
      assert.equal(pool.body.details, undefined);
      const templates = await tenant.get('/v1/templates');
      assert.equal(templates.body.items[0].path, undefined);
      assert.equal(templates.body.items[0].kernel, undefined);
      const template = await tenant.get(`/v1/templates/${templateId}`);
      assert.equal(template.status, 200);
      assert.equal(template.body.path, undefined);
      // every infrastructure read a tenant may make, as raw text: no address, path or secret in any
      const reads = [
        '/v1/zones',
        `/v1/zones/${zoneId}`,
        '/v1/clusters',
        '/v1/storage-pools',
        `/v1/storage-pools/${poolId}`,
        '/v1/templates',
        `/v1/templates/${templateId}`,
        '/v1/disk-offerings',
        '/v1/hosts',
        `/v1/hosts/${hostId}`,
        '/v1/events',
      ];
      for (const path of reads) {
        const text = JSON.stringify((await tenant.get(path)).body);
        for (const secret of [chapKey, portalPassword, hostAddress, initiator, '/srv/secret-dir', dataDir])
          assert.ok(!text.includes(secret), `${path} shows ${secret}: ${text}`);
      }
    });

    void test('an operator sees pools and hosts, but no stored secret', async () => {
      const pool = await admin.get(`/v1/storage-pools/${poolId}`);
      assert.equal(pool.status, 200);
      assert.equal(pool.body.details.reflinkDir, '/srv/secret-dir');
      assert.equal(pool.body.details.chapKey, '********');
      assert.equal(pool.body.url, 'iscsi://admin:********@10.0.0.5/pool');
      for (const path of ['/v1/storage-pools', `/v1/storage-pools/${poolId}`]) {
        const text = JSON.stringify((await admin.get(path)).body);
        assert.ok(!text.includes(chapKey) && !text.includes(portalPassword), text);
      }
      const host = await admin.get(`/v1/hosts/${hostId}`);
      assert.equal(host.body.address, hostAddress);
    });

    // The file itself (links, kind, size) is checked by an agent: template-files.int.
    void test('template paths: absolute, normal, no leading "-", under an allowed directory', async () => {
      const dir = join(dataDir, 'templates');
      await mkdir(dir, { recursive: true });
      const register = (path: string, extra: Record<string, unknown> = {}) =>
        admin.post('/v1/templates', {
          name: `t-${Math.random()}`,
          path,
          format: 'qcow2',
          sizeBytes: GiB,
          ...extra,
        });
      for (const path of [
        '-o/etc/passwd',
        'relative/base.qcow2',
        `${dir}/../outside.qcow2`,
        `${dir}//base.qcow2`,
        '/etc/passwd',
        join(dataDir, 'outside.qcow2'),
      ])
        expectError(await register(path), 400, 'INVALID_ARGUMENT', 'path');
      expectError(
        await register(join(dir, 'base.qcow2'), { kernel: { path: '/boot/../etc/shadow' } }),
        400,
        'INVALID_ARGUMENT',
        'kernel.path',
      );
      // A path that passes is checked on an agent; with none, the server does not look itself.
      expectError(await register(join(dir, 'base.qcow2')), 503, 'UNAVAILABLE');
    });

    void test('forged paging is INVALID_ARGUMENT before any SQL', async () => {
      const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const cursor of [
        forge(['not a time', 'pool-1']),
        forge(['2026-13-45 99:99:99+00', 'pool-1']),
        forge(["2026-12-07 01:00:00+00'; DROP TABLE volumes; --", 'x']),
        forge(['2026-12-07 01:00:00+00', "x' OR 1=1"]),
        'not-base64-json',
      ])
        expectError(await admin.get('/v1/storage-pools', { cursor }), 400, 'INVALID_ARGUMENT', 'cursor');
      expectError(
        await admin.get('/v1/events', { cursor: forge(['2026-12-07 01:00:00+00', 'abc']) }),
        400,
        'INVALID_ARGUMENT',
        'cursor',
      );
      expectError(await admin.get('/v1/jobs', { cursor: '9'.repeat(30) }), 400, 'INVALID_ARGUMENT', 'cursor');
      for (const page of ['1000001', '99999999999999999999', '1e30'])
        expectError(await admin.get('/v1/volumes', { page }), 400, 'INVALID_ARGUMENT', 'page');
      // a genuine cursor still works
      const first = await admin.get('/v1/zones', { limit: '1' });
      assert.ok(first.body.nextCursor);
      assert.equal((await admin.get('/v1/zones', { cursor: first.body.nextCursor })).status, 200);
    });
  });
}
