import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isStrataError, type StoragePool } from '@strata/core';
import { FakeStorageDriver } from '@strata/testing';
import { ApiClient, type ApiAnswer, type Credentials } from '../api/test-client.js';
import { openDatabase } from '../db/index.js';
import { TEST_DATABASES } from '../db/test-databases.js';
import { PoolDrivers } from '../orchestration/pool-drivers.js';
import { startServer, type RunningServer } from '../server.js';
import { createKeyFile } from './key-file.js';
import { Keyring } from './keyring.js';
import { newSecretKey } from './sealed-value.js';
import { keyUsage } from './stored-secrets.js';
import { dumpRows } from './testing/dump.js';

// Secrets at rest against a real server and database, PGlite (on disk, so it survives restarts)
// and PostgreSQL: a dump shows no secret, drivers still get them in clear, the key file is
// checked, and both rotations (the at-rest key, an API key) work (docs/security.md).

const GiB = 1024 ** 3;
const chapKey = 'chap-secret-0123456789';
const cephxKey = 'AQBcephx-secret-key==';
const urlPassword = 'url-pass-987';
const poolUrl = `iscsi://chapuser:${urlPassword}@10.0.0.5/iqn.2026-12.test:pool`;

function ok(r: ApiAnswer, status = 200): ApiAnswer {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r;
}

for (const database of TEST_DATABASES) {
  void describe(`secrets at rest on ${database.name}`, () => {
    let dataDir = '';
    let dbUrl = '';
    let drop: () => Promise<void>;
    let server: RunningServer | null = null;
    let adminCreds: Credentials;
    let tenantCreds: Credentials;
    let poolId = '';
    const secrets: string[] = [chapKey, cephxKey, urlPassword];
    const keyPath = () => join(dataDir, 'secrets.key');
    const client = (creds: Credentials) => new ApiClient({ url: running().url }, creds);
    const running = (): RunningServer => {
      assert.ok(server, 'server is running');
      return server;
    };
    const start = async () => {
      server = await startServer(
        {
          dataDir,
          databaseUrl: dbUrl,
          host: '127.0.0.1',
          port: 0,
          logLevel: 'silent',
          jobs: false,
          templateDirs: [join(dataDir, 'templates')],
        },
        { listen: true },
      );
      return server;
    };
    const stop = async () => {
      await server?.close();
      server = null;
    };
    /** Builds the pool's driver the way orchestration does, and answers the pool it was given. */
    const driverPool = async (): Promise<StoragePool> => {
      const seen: StoragePool[] = [];
      const drivers = new PoolDrivers(
        running().db,
        { 'secret-probe': (p) => (seen.push(p), new FakeStorageDriver(p.name)) },
        running().services.secrets.box,
      );
      await drivers.forPool(poolId);
      await drivers.close();
      assert.equal(seen.length, 1);
      return seen[0] as StoragePool;
    };
    const assertSealedDump = async () => {
      const dump = await dumpRows(running().db);
      assert.match(dump, /enc:v1:/);
      for (const s of secrets) assert.ok(!dump.includes(s), `the dump shows ${s}`);
      const usage = await keyUsage(running().db);
      assert.equal(usage.plain, 0);
      assert.deepEqual([...usage.sealedWith.keys()], [running().services.secrets.box.keyring.current.id]);
    };
    const assertWorks = async () => {
      ok(await client(tenantCreds).get('/v1/auth/whoami'));
      ok(await client(adminCreds).get('/v1/zones'));
      const pool = await driverPool();
      assert.equal(pool.url, poolUrl);
      assert.deepEqual(pool.details, { chapKey, cephxKey, keyringPath: '/etc/ceph/keyring' });
    };

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-secrets-'));
      const db = await database.open();
      drop = db.drop;
      dbUrl = db.url === 'memory:' ? join(dataDir, 'db') : db.url;
      await start();
      const creds = running().bootstrap;
      assert.ok(creds);
      adminCreds = { apiKey: creds.apiKey, secretKey: creds.secretKey };
      secrets.push(creds.secretKey);
      const admin = client(adminCreds);
      const zone = ok(await admin.post('/v1/zones', { name: 'z' }), 201);
      const pool = ok(
        await admin.post('/v1/storage-pools', {
          name: 'san',
          zoneId: zone.body.id,
          provider: 'secret-probe',
          scope: 'zone',
          managed: true,
          capacityBytes: 100 * GiB,
          capacityIops: 1000,
          url: poolUrl,
          details: { chapKey, cephxKey, keyringPath: '/etc/ceph/keyring' },
        }),
        201,
      );
      poolId = pool.body.id;
      const account = ok(await admin.post('/v1/accounts', { name: 'tenant', role: 'user' }), 201);
      const user = ok(
        await admin.post(`/v1/accounts/${account.body.id}/users`, { username: 'tenant-user' }),
        201,
      );
      const key = ok(await admin.post('/v1/api-keys', { userId: user.body.id }), 201);
      tenantCreds = { apiKey: key.body.apiKey, secretKey: key.body.secretKey };
      secrets.push(key.body.secretKey);
    });

    after(async () => {
      await stop();
      await drop?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('the server creates its key file with mode 0600 in the data directory', async () => {
      assert.equal((await stat(keyPath())).mode & 0o777, 0o600);
    });

    void test('a dump of the database holds no pool secret and no API secret key; drivers get them in clear', async () => {
      await assertSealedDump();
      const row = (
        await running().db.query('SELECT url, details FROM storage_pools WHERE id = $1', [poolId])
      )[0];
      assert.match(String(row?.['url']), /^iscsi:\/\/chapuser:enc:v1:[^@]+@10\.0\.0\.5\/iqn/);
      assert.equal((row?.['details'] as Record<string, string>)['keyringPath'], '/etc/ceph/keyring');
      const shown = ok(await client(adminCreds).get(`/v1/storage-pools/${poolId}`));
      assert.equal(shown.body.details.chapKey, '********');
      assert.equal(shown.body.url, 'iscsi://chapuser:********@10.0.0.5/iqn.2026-12.test:pool');
      await assertWorks();
    });

    void test('API key rotation: a user issues a new key, revokes the old one, and the old one is refused', async () => {
      const tenant = client(tenantCreds);
      const issued = ok(await tenant.post('/v1/api-keys', {}), 201);
      assert.equal(typeof issued.body.secretKey, 'string');
      const fresh: Credentials = { apiKey: issued.body.apiKey, secretKey: issued.body.secretKey };
      secrets.push(issued.body.secretKey);
      const listed = ok(await client(fresh).get('/v1/api-keys'));
      assert.ok(!JSON.stringify(listed.body).includes(issued.body.secretKey), 'a list shows no secret key');
      assert.ok(tenantCreds && 'apiKey' in tenantCreds);
      ok(await client(fresh).delete(`/v1/api-keys/${tenantCreds.apiKey}`));
      const refused = await client(tenantCreds).get('/v1/auth/whoami');
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error.code, 'AUTH_BAD_SIGNATURE');
      tenantCreds = fresh;
      ok(await client(tenantCreds).get('/v1/auth/whoami'));
      await assertSealedDump();
    });

    void test('key rotation seals everything with a new key; after it the old key is not needed', async () => {
      const forbidden = await client(tenantCreds).post('/v1/admin/secrets/rotate');
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'AUTH_FORBIDDEN');
      const before = running().services.secrets.box.keyring.current.id;
      const r = ok(await client(adminCreds).post('/v1/admin/secrets/rotate'));
      assert.equal(r.body.previousKeyId, before);
      assert.notEqual(r.body.keyId, before);
      assert.deepEqual(r.body.removedKeyIds, [before]);
      assert.deepEqual(r.body.resealed, { apiKeys: 3, pools: 1 });
      assert.deepEqual(
        (await readdir(dataDir)).filter((f) => f.startsWith('secrets.key')),
        ['secrets.key'],
      );
      await assertSealedDump();
      await assertWorks();
      // A fresh server holds only the new key file: everything still opens.
      await stop();
      await start();
      assert.equal(running().services.secrets.box.keyring.ids().join(), r.body.keyId);
      await assertWorks();
    });

    void test('secrets written while a rotation runs are sealed with the new key', async () => {
      const admin = client(adminCreds);
      const [rotation, ...issued] = await Promise.all([
        admin.post('/v1/admin/secrets/rotate'),
        ...Array.from({ length: 6 }, () => admin.post('/v1/api-keys', {})),
      ]);
      ok(rotation);
      for (const k of issued) secrets.push(ok(k, 201).body.secretKey);
      assert.deepEqual(
        (await readdir(dataDir)).filter((f) => f.startsWith('secrets.key')),
        ['secrets.key'],
      );
      await assertSealedDump();
      await assertWorks();
    });

    void test('an old database with plain secrets is sealed at the next start', async () => {
      await stop();
      const raw = await openDatabase(dbUrl);
      assert.ok('apiKey' in tenantCreds);
      await raw.query('UPDATE api_keys SET secret = $2 WHERE api_key = $1', [
        tenantCreds.apiKey,
        tenantCreds.secretKey,
      ]);
      await raw.query('UPDATE storage_pools SET url = $2, details = $3 WHERE id = $1', [
        poolId,
        poolUrl,
        JSON.stringify({ chapKey, cephxKey, keyringPath: '/etc/ceph/keyring' }),
      ]);
      assert.equal((await keyUsage(raw)).plain, 4);
      await raw.close();
      await start();
      await assertSealedDump();
      await assertWorks();
    });

    void test('a rotation a crash interrupted (new key in place, nothing resealed) is finished at the next start', async () => {
      await stop();
      const ring = await Keyring.load(keyPath());
      const old = await ring.promoteNewKey();
      // and a key a later rotation wrote but never made current
      const stray = newSecretKey();
      await createKeyFile(`${keyPath()}.${stray.id}.next`, stray);
      await start();
      assert.equal(running().services.secrets.box.keyring.current.id, ring.current.id);
      assert.notEqual(ring.current.id, old.id);
      assert.deepEqual(
        (await readdir(dataDir)).filter((f) => f.startsWith('secrets.key')),
        ['secrets.key'],
      );
      await assertSealedDump();
      await assertWorks();
    });

    void test('a key file others can read is refused at start, with a coded error', async () => {
      await stop();
      await chmod(keyPath(), 0o644);
      await assert.rejects(
        start(),
        (e: unknown) => isStrataError(e, 'SECRETS_KEY_FILE_REFUSED') && /mode is 0644/.test(e.message),
      );
      await chmod(keyPath(), 0o600);
      await start();
      await assertWorks();
    });

    void test('a key file other than the one the secrets were sealed with stops the start', async () => {
      await stop();
      await rename(keyPath(), `${keyPath()}.saved`);
      await createKeyFile(keyPath(), newSecretKey());
      await assert.rejects(start(), (e: unknown) => isStrataError(e, 'SECRETS_KEY_UNKNOWN'));
      await rename(`${keyPath()}.saved`, keyPath());
      await start();
      await assertWorks();
    });
  });
}
