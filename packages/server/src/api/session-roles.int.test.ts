import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// A session carries its user's own role, not its account's: a demoted operator logging in to the
// console must not act as an operator through its session (it did: sessions read the account's
// role). Real server over HTTP, on PGlite and on PostgreSQL (docs/security.md, "Roles").

function expectStatus(r: ApiAnswer, status: number): ApiAnswer {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r;
}

for (const database of TEST_DATABASES) {
  void describe(`session roles on ${database.name}`, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let operator: ApiClient;

    /** A session of a new user of `accountId` whose role the operator then sets to `role`. */
    async function sessionAs(accountId: string, username: string, role: string): Promise<ApiClient> {
      const u = expectStatus(
        await operator.post(`/v1/accounts/${accountId}/users`, { username, password: 'a long password 1' }),
        201,
      );
      expectStatus(await operator.put(`/v1/users/${u.body.id}/role`, { role }), 200);
      const login = expectStatus(
        await operator.as(null).post('/v1/auth/login', { username, password: 'a long password 1' }),
        200,
      );
      assert.equal(login.body.role, role);
      return operator.as({ token: login.body.token });
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-session-roles-'));
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

    void test("a user demoted in an operators' account is a user through its session", async () => {
      const ops = expectStatus(await operator.post('/v1/accounts', { name: 'ops-2', role: 'admin' }), 201);
      const session = await sessionAs(ops.body.id, 'demoted', 'user');
      assert.equal(expectStatus(await session.get('/v1/auth/whoami'), 200).body.role, 'user');
      assert.equal((await session.get('/v1/hosts')).body.error?.code, 'AUTH_FORBIDDEN');
      assert.equal((await session.get('/v1/audit-events')).body.error?.code, 'AUTH_FORBIDDEN');
      assert.equal((await session.post('/v1/zones', { name: 'nope' })).body.error?.code, 'AUTH_FORBIDDEN');
    });

    void test('an account admin in a users account manages its users through its session', async () => {
      const tenant = expectStatus(await operator.post('/v1/accounts', { name: 'tenant-s' }), 201);
      const session = await sessionAs(tenant.body.id, 'acct-admin-s', 'account-admin');
      assert.equal(expectStatus(await session.get('/v1/auth/whoami'), 200).body.role, 'account-admin');
      expectStatus(
        await session.post(`/v1/accounts/${tenant.body.id}/users`, { username: 'made-by-session' }),
        201,
      );
    });
  });
}
