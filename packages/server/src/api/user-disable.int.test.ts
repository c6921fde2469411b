import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// A disabled user: its login, its live session and its API key are all refused at once; enabled
// again it logs in. Who may disable is who may set the role; the last operator stays. Real server
// over HTTP, on PGlite and on PostgreSQL (docs/api.md, "Users").

function expectStatus(r: ApiAnswer, status: number): ApiAnswer {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r;
}

for (const database of TEST_DATABASES) {
  void describe(`user disable on ${database.name}`, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let operator: ApiClient;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-user-disable-'));
      const db = await database.open();
      drop = db.drop;
      server = await startServer(
        { dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0, logLevel: 'silent', jobs: false },
        { listen: true },
      );
      const creds = server.bootstrap;
      assert.ok(creds);
      operator = new ApiClient({ url: server.url }, { apiKey: creds.apiKey, secretKey: creds.secretKey });
    });
    after(async () => {
      await server?.close();
      await drop?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('a disabled user has no login, session or key until it is enabled again', async () => {
      const acct = expectStatus(await operator.post('/v1/accounts', { name: 'tenant "d" <x>' }), 201);
      const creds = { username: 'to-disable', password: 'a long password 1' };
      const u = expectStatus(await operator.post(`/v1/accounts/${acct.body.id}/users`, creds), 201);
      assert.equal(u.body.disabledAt, null);
      const login = expectStatus(await operator.as(null).post('/v1/auth/login', creds), 200);
      const session = operator.as({ token: login.body.token });
      const k = expectStatus(await operator.post('/v1/api-keys', { userId: u.body.id }), 201);
      const byKey = operator.as({ apiKey: k.body.apiKey, secretKey: k.body.secretKey });
      expectStatus(await byKey.get('/v1/auth/whoami'), 200);

      const off = expectStatus(
        await operator.put(`/v1/users/${u.body.id}/disabled`, { disabled: true }),
        200,
      );
      assert.match(String(off.body.disabledAt), /^\d{4}-/);
      expectStatus(await session.get('/v1/auth/whoami'), 401);
      expectStatus(await byKey.get('/v1/auth/whoami'), 401);
      assert.equal(
        (await operator.as(null).post('/v1/auth/login', creds)).body.error?.code,
        'AUTH_BAD_CREDENTIALS',
      );
      // A user may not disable itself back on, nor anyone.
      assert.equal((await byKey.put(`/v1/users/${u.body.id}/disabled`, { disabled: false })).status, 401);

      const on = expectStatus(
        await operator.put(`/v1/users/${u.body.id}/disabled`, { disabled: false }),
        200,
      );
      assert.equal(on.body.disabledAt, null);
      expectStatus(await operator.as(null).post('/v1/auth/login', creds), 200);
      expectStatus(await byKey.get('/v1/auth/whoami'), 200);
      const audit = expectStatus(await operator.get('/v1/audit-events', { kind: 'user.disabled' }), 200);
      assert.equal(audit.body.items.length, 1);
    });

    void test('a user cannot disable another, and the last operator stays', async () => {
      const acct = expectStatus(await operator.post('/v1/accounts', { name: 'tenant-e' }), 201);
      const a = expectStatus(
        await operator.post(`/v1/accounts/${acct.body.id}/users`, { username: 'plain-a' }),
        201,
      );
      const b = expectStatus(
        await operator.post(`/v1/accounts/${acct.body.id}/users`, { username: 'plain-b' }),
        201,
      );
      const k = expectStatus(await operator.post('/v1/api-keys', { userId: a.body.id }), 201);
      const plain = operator.as({ apiKey: k.body.apiKey, secretKey: k.body.secretKey });
      assert.equal(
        (await plain.put(`/v1/users/${b.body.id}/disabled`, { disabled: true })).body.error?.code,
        'AUTH_FORBIDDEN',
      );
      const me = expectStatus(await operator.get('/v1/auth/whoami'), 200);
      assert.equal(
        (await operator.put(`/v1/users/${me.body.userId}/disabled`, { disabled: true })).body.error?.code,
        'AUTH_LAST_OPERATOR',
      );
    });

    void test('a deleted user is gone with its keys; nobody deletes itself, a user nobody', async () => {
      const acct = expectStatus(await operator.post('/v1/accounts', { name: 'tenant-f' }), 201);
      const made = (username: string) =>
        operator.post(`/v1/accounts/${acct.body.id}/users`, { username, password: 'a long password 2' });
      const gone = expectStatus(await made(`gone "x" <$(id)>`), 201);
      const plain = expectStatus(await made('plain-f'), 201);
      const k = expectStatus(await operator.post('/v1/api-keys', { userId: gone.body.id }), 201);
      const byKey = operator.as({ apiKey: k.body.apiKey, secretKey: k.body.secretKey });
      expectStatus(await byKey.get('/v1/auth/whoami'), 200);
      const pk = expectStatus(await operator.post('/v1/api-keys', { userId: plain.body.id }), 201);
      const byPlain = operator.as({ apiKey: pk.body.apiKey, secretKey: pk.body.secretKey });
      assert.equal((await byPlain.delete(`/v1/users/${gone.body.id}`)).body.error?.code, 'AUTH_FORBIDDEN');

      expectStatus(await operator.delete(`/v1/users/${gone.body.id}`), 204);
      expectStatus(await byKey.get('/v1/auth/whoami'), 401);
      const left = expectStatus(await operator.get('/v1/users', { accountId: acct.body.id }), 200);
      assert.deepEqual(
        left.body.items.map((u: { username: string }) => u.username),
        ['plain-f'],
      );
      assert.equal((await operator.delete(`/v1/users/${gone.body.id}`)).status, 404);
      const me = expectStatus(await operator.get('/v1/auth/whoami'), 200);
      assert.equal((await operator.delete(`/v1/users/${me.body.userId}`)).body.error?.code, 'CONFLICT');
      const audit = expectStatus(await operator.get('/v1/audit-events', { kind: 'user.deleted' }), 200);
      assert.equal(audit.body.items.length, 1);
    });
  });
}
