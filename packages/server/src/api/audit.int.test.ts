import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_DATABASES } from '../db/test-databases.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// The audit trail against a real server over HTTP, on PGlite and on PostgreSQL: every failed
// authentication, role change and API key issued or revoked is an event an operator lists, and
// no event holds a password, a secret key, a session token or a signature (docs/security.md).

interface Audited {
  id: string;
  kind: string;
  via: string;
  code: string | null;
  actorUserId: string | null;
  accountId: string | null;
  targetType: string | null;
  targetId: string | null;
  remoteAddress: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

function expectStatus(r: ApiAnswer, status: number): ApiAnswer {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r;
}

for (const database of TEST_DATABASES) {
  void describe(`audit trail on ${database.name}`, () => {
    let server: RunningServer;
    let dataDir: string;
    let drop: () => Promise<void>;
    let operator: ApiClient;
    let anonymous: ApiClient;
    const startedAt = new Date(Date.now() - 1000).toISOString();
    /** Every secret the test handles: none may appear in any event. */
    const secrets: string[] = [];
    let userId = '';
    let accountId = '';
    let userKey = '';
    let selfKey = '';

    /** Every event of the filter, paged two at a time by cursor. */
    async function allEvents(query: Record<string, string> = {}): Promise<Audited[]> {
      const out: Audited[] = [];
      let cursor: string | null = null;
      do {
        const page = expectStatus(
          await operator.get('/v1/audit-events', { ...query, limit: '2', ...(cursor ? { cursor } : {}) }),
          200,
        );
        out.push(...(page.body.items as Audited[]));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      return out;
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-audit-'));
      const db = await database.open();
      drop = db.drop;
      server = await startServer(
        { dataDir, databaseUrl: db.url, host: '127.0.0.1', port: 0, logLevel: 'silent', jobs: false },
        { listen: true },
      );
      const creds = server.bootstrap;
      assert.ok(creds);
      secrets.push(creds.secretKey, creds.password);
      operator = new ApiClient({ url: server.url }, { apiKey: creds.apiKey, secretKey: creds.secretKey });
      anonymous = operator.as(null);

      const password = 'correct horse battery staple';
      secrets.push(password);
      accountId = expectStatus(await operator.post('/v1/accounts', { name: 'audited' }), 201).body.id;
      userId = expectStatus(
        await operator.post(`/v1/accounts/${accountId}/users`, { username: 'alice', password }),
        201,
      ).body.id;
      const key = expectStatus(await operator.post('/v1/api-keys', { userId }), 201).body;
      userKey = key.apiKey;
      secrets.push(key.secretKey);
      const alice = operator.as({ apiKey: key.apiKey, secretKey: key.secretKey });

      // Six refusals, each through another door.
      const wrong = 'wrong-password-0xC0FFEE';
      const typedInName = 'hunter2-typed-in-the-name-field';
      secrets.push(wrong, typedInName);
      expectStatus(await anonymous.post('/v1/auth/login', { username: 'alice', password: wrong }), 401);
      expectStatus(await anonymous.post('/v1/auth/login', { username: typedInName, password: wrong }), 401);
      const garbage = 'not-a-session-token-5f3a9c';
      secrets.push(garbage);
      expectStatus(await anonymous.as({ token: garbage }).get('/v1/volumes'), 401);
      const signed = alice.sign('GET', '/v1/volumes', { name: 'x' });
      secrets.push(new URLSearchParams(signed).get('signature') ?? 'missing');
      const tampered = signed.replace('name=x', 'name=y');
      expectStatus(await alice.request('GET', '/v1/volumes', { rawQuery: tampered }), 401);
      const unknownSecret = 'made-up-secret-for-an-unknown-key';
      secrets.push(unknownSecret);
      expectStatus(
        await anonymous.as({ apiKey: 'no-such-key-42', secretKey: unknownSecret }).get('/v1/volumes'),
        401,
      );
      const once = alice.sign('GET', '/v1/volumes');
      secrets.push(new URLSearchParams(once).get('signature') ?? 'missing');
      expectStatus(await alice.request('GET', '/v1/volumes', { rawQuery: once }), 200);
      expectStatus(await alice.request('GET', '/v1/volumes', { rawQuery: once }), 401);
      // No credential at all is a knock, not an attempt: not recorded.
      expectStatus(await anonymous.get('/v1/volumes'), 401);

      // Role changes: one given at creation, one changed after.
      expectStatus(
        await operator.post(`/v1/accounts/${accountId}/users`, { username: 'bob', role: 'account-admin' }),
        201,
      );
      expectStatus(await operator.put(`/v1/users/${userId}/role`, { role: 'account-admin' }), 200);
      expectStatus(await operator.put(`/v1/users/${userId}/role`, { role: 'account-admin' }), 200);

      // Keys: one alice issues herself in a console session, one revoked twice.
      const session = expectStatus(
        await anonymous.post('/v1/auth/login', { username: 'alice', password }),
        200,
      );
      secrets.push(session.body.token);
      const own = expectStatus(
        await anonymous.as({ token: session.body.token }).post('/v1/api-keys', {}),
        201,
      );
      selfKey = own.body.apiKey;
      secrets.push(own.body.secretKey);
      expectStatus(await operator.delete(`/v1/api-keys/${userKey}`), 200);
      expectStatus(await operator.delete(`/v1/api-keys/${userKey}`), 200);
    });

    after(async () => {
      await server.close();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('each refused credential is one auth.failed event naming its door and code', async () => {
      const failed = await allEvents({ kind: 'auth.failed' });
      const seen = failed.map((e) => `${e.via} ${e.code} ${e.targetType ?? '-'} ${e.targetId ?? '-'}`).sort();
      assert.deepEqual(
        seen,
        [
          `login AUTH_BAD_CREDENTIALS - -`,
          `login AUTH_BAD_CREDENTIALS user ${userId}`,
          `rest-signature AUTH_BAD_SIGNATURE - -`,
          `rest-signature AUTH_BAD_SIGNATURE api-key ${userKey}`,
          `rest-signature AUTH_REPLAYED api-key ${userKey}`,
          `session-token AUTH_UNAUTHENTICATED - -`,
        ].sort(),
      );
      for (const e of failed) {
        assert.match(e.remoteAddress ?? '', /127\.0\.0\.1/);
        assert.equal(e.actorUserId, null);
      }
      const known = failed.find((e) => e.code === 'AUTH_REPLAYED');
      assert.equal(known?.accountId, accountId);
      assert.deepEqual(known?.details, { userId });
    });

    void test('role changes name who gave which role to whom; an unchanged role records nothing', async () => {
      const changes = await allEvents({ kind: 'role.changed' });
      assert.equal(changes.length, 2, JSON.stringify(changes));
      const [atCreation, later] = changes;
      assert.deepEqual(atCreation?.details, { from: null, to: 'account-admin' });
      assert.deepEqual(later?.details, { from: 'user', to: 'account-admin' });
      assert.equal(later?.targetId, userId);
      assert.equal(later?.accountId, accountId);
      assert.equal(later?.via, 'api-key');
      assert.notEqual(later?.actorUserId, null);
    });

    void test('API keys issued and revoked are events; revoking twice records once', async () => {
      const created = await allEvents({ kind: 'api-key.created' });
      assert.deepEqual(
        created.map((e) => [e.targetId, e.via, e.details['userId']]),
        [
          [userKey, 'api-key', userId],
          [selfKey, 'session', userId],
        ],
      );
      assert.equal(created[1]?.actorUserId, userId);
      const revoked = await allEvents({ kind: 'api-key.revoked' });
      assert.deepEqual(
        revoked.map((e) => e.targetId),
        [userKey],
      );
    });

    void test('no event holds a password, a secret key, a token or a signature', async () => {
      const text = JSON.stringify(await allEvents());
      for (const secret of secrets) assert.ok(!text.includes(secret), `an audit event holds ${secret}`);
      assert.doesNotMatch(text, /no-such-key-42/);
    });

    void test('paging and time filters', async () => {
      const all = await allEvents();
      const single = expectStatus(await operator.get('/v1/audit-events', { limit: '500' }), 200);
      assert.deepEqual(
        all.map((e) => e.id),
        single.body.items.map((e: Audited) => e.id),
      );
      assert.equal(new Set(all.map((e) => e.id)).size, all.length);
      assert.equal(all.length, 6 + 2 + 2 + 1);
      const since = await allEvents({ since: startedAt });
      assert.equal(since.length, all.length);
      assert.equal((await allEvents({ until: startedAt })).length, 0);
      const future = new Date(Date.now() + 3600_000).toISOString();
      assert.equal((await allEvents({ since: future })).length, 0);
      assert.equal(
        (await allEvents({ accountId })).length,
        all.filter((e) => e.accountId === accountId).length,
      );
      const bad = await operator.get('/v1/audit-events', { since: 'yesterday' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details.field, 'since');
      assert.equal((await operator.get('/v1/audit-events', { kind: 'nope' })).status, 400);
      assert.equal((await operator.get('/v1/audit-events', { since: '2026-12-07T10:00:00' })).status, 400);
    });
  });
}
