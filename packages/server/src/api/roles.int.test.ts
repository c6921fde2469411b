import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// The three roles against a real server over HTTP, on PGlite and on PostgreSQL: what an account
// admin and a user may do, and the hostile attempts each must be refused (docs/security.md).

function expectError(r: ApiAnswer, status: number, code: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
}

function expectOk(r: ApiAnswer, status = 200): ApiAnswer {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r;
}

for (const database of TEST_DATABASES) {
  void describe(`roles on ${database.name}`, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let operator: ApiClient;
    let acctAdmin: ApiClient;
    let user: ApiClient;
    let other: ApiClient;
    let operatorUserId = '';
    let accountA = '';
    let accountB = '';
    let acctAdminId = '';
    let userId = '';
    let peerId = '';
    let otherUserId = '';

    /** A user of `accountId` with a key the operator issues; answers its client and id. */
    async function member(accountId: string, username: string, role?: string): Promise<[ApiClient, string]> {
      const u = expectOk(
        await operator.post(`/v1/accounts/${accountId}/users`, { username, ...(role ? { role } : {}) }),
        201,
      );
      const k = expectOk(await operator.post('/v1/api-keys', { userId: u.body.id }), 201);
      return [operator.as({ apiKey: k.body.apiKey, secretKey: k.body.secretKey }), u.body.id as string];
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-roles-'));
      const db = await database.open();
      drop = db.drop;
      server = await startServer(
        { dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0, logLevel: 'silent', jobs: false },
        { listen: true },
      );
      const creds = server.bootstrap;
      assert.ok(creds);
      operator = new ApiClient({ url: server.url }, { apiKey: creds.apiKey, secretKey: creds.secretKey });
      operatorUserId = (await operator.get('/v1/auth/whoami')).body.userId;
      accountA = expectOk(await operator.post('/v1/accounts', { name: 'tenant-a' }), 201).body.id;
      accountB = expectOk(await operator.post('/v1/accounts', { name: 'tenant-b' }), 201).body.id;
      [acctAdmin, acctAdminId] = await member(accountA, 'a-admin', 'account-admin');
      [user, userId] = await member(accountA, 'a-user');
      [, peerId] = await member(accountA, 'a-peer');
      [other, otherUserId] = await member(accountB, 'b-user');
    });

    after(async () => {
      await server.close();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('a user holds its account role unless given its own', async () => {
      const a = expectOk(await operator.get(`/v1/users/${userId}`));
      assert.equal(a.body.role, 'user');
      assert.equal(expectOk(await operator.get(`/v1/users/${acctAdminId}`)).body.role, 'account-admin');
      assert.equal(expectOk(await operator.get(`/v1/users/${operatorUserId}`)).body.role, 'admin');
      assert.equal((await acctAdmin.get('/v1/auth/whoami')).body.role, 'account-admin');
    });

    void test('an account admin manages its own account: users, keys, roles below operator', async () => {
      const created = expectOk(
        await acctAdmin.post(`/v1/accounts/${accountA}/users`, {
          username: 'a-new',
          password: 'long enough pw',
        }),
        201,
      );
      assert.equal(created.body.accountId, accountA);
      assert.equal(created.body.role, 'user');
      const listed = expectOk(await acctAdmin.get('/v1/users'));
      const ids = listed.body.items.map((u: { id: string }) => u.id);
      assert.ok(ids.includes(userId) && ids.includes(created.body.id));
      assert.ok(!ids.includes(otherUserId) && !ids.includes(operatorUserId));
      const key = expectOk(await acctAdmin.post('/v1/api-keys', { userId: created.body.id }), 201);
      expectOk(await acctAdmin.delete(`/v1/api-keys/${key.body.apiKey}`));
      const promoted = expectOk(
        await acctAdmin.put(`/v1/users/${created.body.id}/role`, { role: 'account-admin' }),
      );
      assert.equal(promoted.body.role, 'account-admin');
      expectOk(await acctAdmin.put(`/v1/users/${created.body.id}/role`, { role: 'user' }));
      const accounts = expectOk(await acctAdmin.get('/v1/accounts'));
      assert.deepEqual(
        accounts.body.items.map((a: { id: string }) => a.id),
        [accountA],
      );
    });

    void test('an account admin cannot reach another account, make an operator, or see the infrastructure', async () => {
      expectError(
        await acctAdmin.post(`/v1/accounts/${accountB}/users`, { username: 'intruder' }),
        404,
        'NOT_FOUND',
      );
      expectError(await acctAdmin.put(`/v1/users/${otherUserId}/role`, { role: 'user' }), 404, 'NOT_FOUND');
      expectError(await acctAdmin.post('/v1/api-keys', { userId: otherUserId }), 404, 'NOT_FOUND');
      expectError(await acctAdmin.get(`/v1/users/${otherUserId}`), 404, 'NOT_FOUND');
      expectError(await acctAdmin.put(`/v1/users/${userId}/role`, { role: 'admin' }), 403, 'AUTH_FORBIDDEN');
      expectError(
        await acctAdmin.put(`/v1/users/${acctAdminId}/role`, { role: 'admin' }),
        403,
        'AUTH_FORBIDDEN',
      );
      expectError(
        await acctAdmin.post(`/v1/accounts/${accountA}/users`, { username: 'sneaky-op', role: 'admin' }),
        403,
        'AUTH_FORBIDDEN',
      );
      expectError(await acctAdmin.post('/v1/accounts', { name: 'tenant-c' }), 403, 'AUTH_FORBIDDEN');
      expectError(await acctAdmin.get('/v1/hosts'), 403, 'AUTH_FORBIDDEN');
      expectError(await acctAdmin.get('/v1/audit-events'), 403, 'AUTH_FORBIDDEN');
      // An operator's key is out of reach even inside the account admin's own account.
      const [, opInA] = await member(accountA, 'a-operator', 'admin');
      expectError(await acctAdmin.put(`/v1/users/${opInA}/role`, { role: 'user' }), 403, 'AUTH_FORBIDDEN');
      expectError(await acctAdmin.post('/v1/api-keys', { userId: opInA }), 403, 'AUTH_FORBIDDEN');
      expectOk(await operator.put(`/v1/users/${opInA}/role`, { role: 'user' }));
    });

    void test('a user manages nobody, its own keys excepted', async () => {
      expectError(
        await user.post(`/v1/accounts/${accountA}/users`, { username: 'u-made' }),
        403,
        'AUTH_FORBIDDEN',
      );
      expectError(
        await user.put(`/v1/users/${userId}/role`, { role: 'account-admin' }),
        403,
        'AUTH_FORBIDDEN',
      );
      expectError(await user.put(`/v1/users/${peerId}/role`, { role: 'user' }), 403, 'AUTH_FORBIDDEN');
      expectError(await user.post('/v1/api-keys', { userId: peerId }), 403, 'AUTH_FORBIDDEN');
      expectError(await user.post('/v1/api-keys', { userId: acctAdminId }), 403, 'AUTH_FORBIDDEN');
      const peerKey = expectOk(await operator.post('/v1/api-keys', { userId: peerId }), 201).body.apiKey;
      expectError(await user.delete(`/v1/api-keys/${peerKey}`), 403, 'AUTH_FORBIDDEN');
      expectError(await user.get(`/v1/users/${peerId}`), 404, 'NOT_FOUND');
      expectError(await user.get('/v1/audit-events'), 403, 'AUTH_FORBIDDEN');

      const own = expectOk(await user.post('/v1/api-keys', {}), 201);
      assert.equal(own.body.userId, userId);
      const users = expectOk(await user.get('/v1/users'));
      assert.deepEqual(
        users.body.items.map((u: { id: string }) => u.id),
        [userId],
      );
      const keys = expectOk(await user.get('/v1/api-keys'));
      assert.ok(keys.body.items.length >= 2);
      assert.ok(keys.body.items.every((k: { userId: string }) => k.userId === userId));
      expectOk(await user.delete(`/v1/api-keys/${own.body.apiKey}`));
      expectError(await other.get(`/v1/users/${userId}`), 404, 'NOT_FOUND');
    });

    void test('a role change takes effect on the next request, and the last operator stays one', async () => {
      expectError(await user.get('/v1/hosts'), 403, 'AUTH_FORBIDDEN');
      expectOk(await operator.put(`/v1/users/${userId}/role`, { role: 'admin' }));
      expectOk(await user.get('/v1/hosts'));
      expectOk(await operator.put(`/v1/users/${userId}/role`, { role: 'user' }));
      expectError(await user.get('/v1/hosts'), 403, 'AUTH_FORBIDDEN');
      expectError(
        await operator.put(`/v1/users/${operatorUserId}/role`, { role: 'user' }),
        409,
        'AUTH_LAST_OPERATOR',
      );
      expectError(await operator.put(`/v1/users/${userId}/role`, { role: 'root' }), 400, 'INVALID_ARGUMENT');
      assert.equal(expectOk(await operator.get(`/v1/users/${operatorUserId}`)).body.role, 'admin');
    });
  });
}
