import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatExpires } from '../auth/rest-signing.js';
import { TEST_DATABASES } from '../db/test-databases.js';
import { signParams } from '../auth/signature.js';
import { cloudStackExtension } from '../cloudstack/extension.js';
import { startServer, type RunningServer } from '../server.js';
import { ApiClient, type ApiAnswer } from './test-client.js';

// Floods against a real server (real HTTP, on PGlite and on PostgreSQL) with small limits: a login flood for one
// name, a request flood past one key's budget (REST and CloudStack API), more long-poll waits
// than the caps allow, and bad credentials from one address. Through each, another caller is
// still answered (docs/security.md, "Limits").

const LIMITS = { requestsPerMinute: 50, anonymousPerMinute: 300, jobWaits: 6, jobWaitsPerUser: 4 };

function assertLimited(r: ApiAnswer, what: RegExp): void {
  assert.equal(r.status, 429, JSON.stringify(r.body));
  const retryAfter = Number(r.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(r.headers['retry-after'])}`);
  assert.equal(r.body.error.code, 'RATE_LIMITED');
  assert.equal(r.body.error.retryable, true);
  assert.equal(r.body.error.details.retryAfterSeconds, retryAfter);
  assert.match(r.body.error.details.what, what);
}

const statuses = (rs: readonly ApiAnswer[]) =>
  rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});

for (const database of TEST_DATABASES) {
  void describe(`limits under floods on ${database.name}`, () => {
    let drop: () => Promise<void>;
    let server: RunningServer;
    let dataDir: string;
    let admin: ApiClient;
    let anon: ApiClient;
    let tenantAccountId = '';
    let tenantUserId = '';

    /** A fresh API key of the tenant's user: a budget of its own. */
    async function tenantKey(): Promise<{ apiKey: string; secretKey: string }> {
      const key = await admin.post('/v1/api-keys', { userId: tenantUserId });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      return { apiKey: key.body.apiKey, secretKey: key.body.secretKey };
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-limits-'));
      const db = await database.open();
      drop = db.drop;
      server = await startServer(
        {
          dataDir,
          databaseUrl: db.url,
          host: '127.0.0.1',
          port: 0,
          logLevel: 'silent',
          jobs: false, // jobs stay queued: waits on them stay open until the test cancels them
          limits: LIMITS,
        },
        { listen: true, extensions: [cloudStackExtension()] },
      );
      const creds = server.bootstrap;
      assert.ok(creds);
      admin = new ApiClient({ url: server.url }, { apiKey: creds.apiKey, secretKey: creds.secretKey });
      anon = admin.as(null);
      const tenant = await admin.post('/v1/accounts', { name: 'tenant', role: 'user' });
      tenantAccountId = tenant.body.id;
      const user = await admin.post(`/v1/accounts/${tenantAccountId}/users`, {
        username: 'tenant-user',
        password: 'tenant password 1',
      });
      tenantUserId = user.body.id;
      const other = await admin.post('/v1/accounts', { name: 'other', role: 'user' });
      await admin.post(`/v1/accounts/${other.body.id}/users`, {
        username: 'bystander',
        password: 'bystander password 1',
      });
      await admin.post(`/v1/accounts/${other.body.id}/users`, {
        username: 'victim',
        password: 'victim password 1',
      });
      server.engine.register({
        type: 'test.held',
        steps: [{ name: 'never', run: () => Promise.resolve(null) }],
      });
    });
    after(async () => {
      await server?.close();
      await drop?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    void test('a login flood for one name runs a few password checks; another user logs in meanwhile', async () => {
      const tries: Promise<ApiAnswer>[] = [];
      const started = Date.now();
      for (let round = 0; round < 12; round++) {
        for (let i = 0; i < 10; i++)
          tries.push(anon.post('/v1/auth/login', { username: 'victim', password: `guess ${round}-${i}` }));
        await new Promise((r) => setTimeout(r, 200));
      }
      const bystander = await anon.post('/v1/auth/login', {
        username: 'bystander',
        password: 'bystander password 1',
      });
      assert.equal(bystander.status, 200, JSON.stringify(bystander.body));
      const session = anon.as({ token: bystander.body.token });
      assert.equal((await session.get('/v1/auth/whoami')).status, 200);
      const answers = await Promise.all(tries);
      const seconds = (Date.now() - started) / 1000;
      const checked = answers.filter((r) => r.status === 401);
      for (const r of checked) assert.equal(r.body.error.code, 'AUTH_BAD_CREDENTIALS');
      for (const r of answers.filter((a) => a.status !== 401)) assertLimited(r, /login/);
      // 3 free failures, then waits of 1, 2, 4 … s: far fewer checks than tries
      assert.ok(checked.length >= 3, JSON.stringify(statuses(answers)));
      assert.ok(
        checked.length <= 3 + Math.ceil(Math.log2(seconds + 1)) + 1,
        `${checked.length} password checks in ${seconds} s: ${JSON.stringify(statuses(answers))}`,
      );
    });

    void test('a request flood past one API key budget gets 429 with Retry-After; other callers are answered', async () => {
      const flooder = admin.as(await tenantKey());
      const flood = Promise.all(Array.from({ length: 70 }, () => flooder.get('/v1/auth/whoami')));
      const meanwhile = await admin.get('/v1/auth/whoami');
      assert.equal(meanwhile.status, 200);
      const answers = await flood;
      assert.deepEqual(statuses(answers), { 200: 50, 429: 20 });
      for (const r of answers.filter((a) => a.status === 429)) {
        assertLimited(r, /requests from this caller/);
        assert.equal(r.headers['x-ratelimit-limit'], '50');
      }
      assert.equal(answers.find((a) => a.status === 200)?.headers['x-ratelimit-limit'], '50');
      // the same user's other key and the admin still have their own budgets
      assert.equal((await admin.as(await tenantKey()).get('/v1/auth/whoami')).status, 200);
      assert.equal((await admin.get('/v1/zones')).status, 200);
    });

    void test('the OpenAPI document lists the 429 answer', async () => {
      const doc = await anon.get('/openapi.json');
      for (const [path, method] of [
        ['/v1/auth/login', 'post'],
        ['/v1/jobs/{id}', 'get'],
      ] as const)
        assert.ok(doc.body.paths[path][method].responses['429'], `${method} ${path}`);
    });

    void test('the CloudStack API spends from the same per-key budget', async () => {
      const { apiKey, secretKey } = await tenantKey();
      const call = async () => {
        const params: Record<string, string> = {
          command: 'listZones',
          response: 'json',
          apiKey,
          signatureVersion: '3',
          expires: formatExpires(new Date(Date.now() + 300_000)),
        };
        const qs = new URLSearchParams({ ...params, signature: signParams(params, secretKey) });
        const r = await fetch(`${server.url}/client/api?${qs.toString()}`);
        return { status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() };
      };
      const answers = await Promise.all(Array.from({ length: 60 }, call));
      const refused = answers.filter((a) => a.status === 429);
      assert.equal(answers.filter((a) => a.status === 200).length, 50);
      assert.equal(refused.length, 10);
      for (const r of refused) {
        assert.ok(Number(r.retryAfter) >= 1, r.retryAfter ?? 'no Retry-After');
        const body = JSON.parse(r.text) as { listzonesresponse: { errorcode: number; stratacode: string } };
        assert.equal(body.listzonesresponse.errorcode, 429);
        assert.equal(body.listzonesresponse.stratacode, 'RATE_LIMITED');
      }
      assert.equal((await admin.get('/v1/auth/whoami')).status, 200);
    });

    void test('long-poll waits past the per-user and server caps are refused at once; others are answered', async () => {
      const job = await server.engine.submit('test.held', {}, { accountId: tenantAccountId });
      const tenant = admin.as(await tenantKey());
      const login = await anon.post('/v1/auth/login', {
        username: 'bystander',
        password: 'bystander password 1',
      });
      const bystanderJob = await server.engine.submit('test.held', {}, { accountId: login.body.accountId });
      const bystander = anon.as({ token: login.body.token });
      const waitsOpen = async (n: number) => {
        for (let i = 0; i < 200; i++) {
          const m = await anon.get('/metrics');
          if (new RegExp(`^strata_job_waits_open ${n}$`, 'm').test(String(m.body))) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.fail(`never ${n} waits open`);
      };
      const open = [1, 2, 3, 4].map(() => tenant.get(`/v1/jobs/${job.id}`, { wait: '60' }));
      await waitsOpen(4);
      assertLimited(await tenant.get(`/v1/jobs/${job.id}`, { wait: '60' }), /for this user/);
      open.push(bystander.get(`/v1/jobs/${bystanderJob.id}`, { wait: '60' }));
      open.push(bystander.get(`/v1/jobs/${bystanderJob.id}`, { wait: '60' }));
      await waitsOpen(6);
      assertLimited(await admin.get(`/v1/jobs/${job.id}`, { wait: '60' }), /on this server/);
      // plain reads are answered while every wait place is taken
      assert.equal((await admin.get(`/v1/jobs/${job.id}`)).body.state, 'Queued');
      assert.equal((await tenant.get('/v1/auth/whoami')).status, 200);
      // a cancel on this server ends its waits at once, not at their 60 s
      const t0 = Date.now();
      await server.engine.cancel(job.id);
      await server.engine.cancel(bystanderJob.id);
      for (const r of await Promise.all(open)) assert.equal(r.body.state, 'Failed', JSON.stringify(r.body));
      assert.ok(Date.now() - t0 < 30_000, `waits ended ${Date.now() - t0} ms after the cancel`);
      await waitsOpen(0);
    });

    void test('bad credentials from one address spend its budget; a good caller there and other addresses are answered', async () => {
      const { apiKey } = await tenantKey();
      const forged = admin.as({ apiKey, secretKey: 'not the secret' });
      let firstRefusal = -1;
      for (let i = 0; i < LIMITS.anonymousPerMinute + 20 && firstRefusal < 0; i++) {
        const r = await forged.get('/v1/auth/whoami');
        if (r.status === 429) firstRefusal = i;
        else assert.equal(r.body.error.code, 'AUTH_BAD_SIGNATURE');
      }
      assert.ok(firstRefusal >= 0, 'bad signatures were never refused');
      assertLimited(await forged.get('/v1/auth/whoami'), /unauthenticated requests from this address/);
      assertLimited(await anon.get('/healthz'), /unauthenticated/);
      // the address is spent, yet verified callers from it keep their own budgets
      assert.equal((await admin.get('/v1/auth/whoami')).status, 200);
      assert.equal((await admin.as(await tenantKey()).get('/v1/auth/whoami')).status, 200);
      const elsewhere = await server.app.inject({
        method: 'GET',
        url: '/healthz',
        remoteAddress: '198.51.100.7',
      });
      assert.equal(elsewhere.statusCode, 200);
    });
  });
}
