import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorRegistry } from '@strata/core';
import { dropTestDatabase, stackDatabaseUrl } from '@strata/testing';
import fc from 'fast-check';
import { formatExpires, signRestRequest } from '../auth/rest-signing.js';
import { signParams } from '../auth/signature.js';
import { cloudStackExtension } from '../cloudstack/extension.js';
import { COMMON_PARAMS } from '../cloudstack/params.js';
import { startServer, type RunningServer } from '../server.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import {
  bodyFor,
  csParamsFor,
  defined,
  nastyJson,
  nastyString,
  type CsParam,
  type JsonSchema,
} from './fuzz/inputs.js';
import { changedTables, readState, stateQuery } from './fuzz/state.js';

// Fuzzing from the contract (issue 21, item 8): a real server (real HTTP; PGlite, or PostgreSQL
// when STRATA_TEST_DATABASE=postgres) is read for its own description, /openapi.json and
// CloudStack's listApis, and every operation and command gets seeded hostile input, as an
// operator and as a tenant. Every answer must be a coded error in the documented shape or a
// success, never a 5xx, never database text; a refused request changes no table (the audit trail
// and the replay guard excepted, which record refusals by design); a tenant never reads another
// account's resources. STRATA_FUZZ_RUNS (default 4) sets the cases per operation and caller;
// STRATA_FUZZ_SEED replays a run (docs/security.md, "Fuzzing").

const SEED = Number(process.env['STRATA_FUZZ_SEED'] ?? 20261207);
const RUNS = Number(process.env['STRATA_FUZZ_RUNS'] ?? 4);
/** What database errors look like: none may reach a client. */
const DB_TEXT =
  /syntax error|relation "|column "|violates|duplicate key|invalid input syntax|postgres|pglite|SQLSTATE|out of range for type|unterminated|at character \d/i;
const OTHER_MARK = 'zz-other-private';

interface Caller {
  readonly name: 'operator' | 'tenant';
  readonly apiKey: string;
  readonly secretKey: string;
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly query: readonly string[];
  readonly body: JsonSchema | null;
}

interface RestCase {
  readonly pathValues: Record<string, string>;
  readonly query: Record<string, string>;
  readonly body: unknown;
}

const AUTH_QUERY = new Set(['apiKey', 'signature', 'signatureVersion', 'expires', 'nonce']);

/** Lone surrogates cannot be percent-encoded: they go as U+FFFD (JSON bodies keep them). */
const whole = (v: string) =>
  v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
/** A path segment sent literally: dots too, so `..` is not resolved away by the client. */
const segment = (v: string) => encodeURIComponent(whole(v)).replace(/\./g, '%2E');
const wellFormed = (q: Record<string, string>) =>
  Object.fromEntries(Object.entries(q).map(([k, v]) => [whole(k), whole(v)]));

let server: RunningServer;
let dataDir = '';
let databaseUrl = '';
let operator: Caller;
let tenant: Caller;
let stateSql = '';
let state: Record<string, string> = {};
/** Real ids of every kind, so generated requests reach handlers and not only validation. */
const ids: string[] = [];
/** The other tenant's ids: a tenant's answer may hold one only when its own request did. */
const otherIds: string[] = [];
const counts = { requests: 0, refused: 0, ok: 0 };

async function send(
  caller: Caller | null,
  method: string,
  path: string,
  opts: { query?: Record<string, string>; body?: string | Buffer; contentType?: string } = {},
): Promise<Answer> {
  const bodyText = typeof opts.body === 'string' ? opts.body : undefined;
  const query = wellFormed(opts.query ?? {});
  const qs = caller
    ? signRestRequest({
        method,
        path,
        query,
        apiKey: caller.apiKey,
        secretKey: caller.secretKey,
        ...(bodyText !== undefined ? { body: bodyText } : {}),
      })
    : new URLSearchParams(query).toString();
  const headers: Record<string, string> = {};
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const r = await fetch(`${server.url}${path}${qs ? `?${qs}` : ''}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // checked below: an error must be JSON
  }
  counts.requests++;
  return { status: r.status, text, json };
}

/** A REST answer: a success, or a coded error in the documented shape; then the state check. */
async function checkRest(what: string, caller: Caller, a: Answer, sent: string): Promise<void> {
  assert.ok(a.status < 500, `${what}: ${a.status} ${a.text.slice(0, 500)}`);
  if (a.status >= 400) {
    counts.refused++;
    const err = (a.json as { error?: Record<string, unknown> } | undefined)?.error;
    assert.ok(err, `${what}: ${a.status} without an error body: ${a.text.slice(0, 300)}`);
    assert.equal(typeof err['code'], 'string', what);
    assert.ok(errorRegistry.has(String(err['code'])), `${what}: unregistered code ${String(err['code'])}`);
    assert.equal(typeof err['message'], 'string', what);
    assert.equal(err['status'], a.status, `${what}: status in body`);
    assert.equal(typeof err['retryable'], 'boolean', what);
    assert.equal(typeof err['details'], 'object', what);
    assert.doesNotMatch(a.text, DB_TEXT, `${what}: database text in ${a.text.slice(0, 300)}`);
  } else counts.ok++;
  await checkState(what, a.status);
  if (caller.name === 'tenant') checkIsolation(what, a.text, sent);
}

async function checkState(what: string, status: number): Promise<void> {
  const now = await readState(server.db, stateSql);
  // A refusal changes nothing; a success may (a fuzzed value can be valid).
  if (status >= 400)
    assert.deepEqual(changedTables(state, now), [], `${what}: refused with ${status} yet changed`);
  state = now;
}

function checkIsolation(what: string, text: string, sent: string): void {
  assert.ok(
    !text.includes(OTHER_MARK),
    `${what}: a tenant read another account's data: ${text.slice(0, 300)}`,
  );
  for (const id of otherIds)
    if (!sent.includes(id))
      assert.ok(!text.includes(id), `${what}: another account's ${id} in ${text.slice(0, 300)}`);
}

/** Every operation of the OpenAPI document, with its parameters and body schema. */
function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const params = (op['parameters'] ?? []) as Array<{ in: string; name: string }>;
      const content = (op['requestBody'] as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content;
      out.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query' && !AUTH_QUERY.has(p.name)).map((p) => p.name),
        body: content?.['application/json']?.schema ?? null,
      });
    }
  return out;
}

function restCase(op: Operation): fc.Arbitrary<RestCase> {
  const value = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...ids) },
    { weight: 3, arbitrary: nastyString() },
  );
  const pathValues = fc.record(Object.fromEntries(op.pathParams.map((p) => [p, value])));
  const named = fc.record(
    Object.fromEntries(
      op.query.map((q) => [q, fc.oneof(value, fc.constantFrom('1', '0', '-1', '500', '1000000', 'true'))]),
    ),
    { requiredKeys: [] },
  );
  const extra = fc.dictionary(
    nastyString().filter((k) => !AUTH_QUERY.has(k) && k !== ''),
    nastyString(),
    { maxKeys: 1 },
  );
  const query = fc.tuple(named, extra).map(([n, e]) => defined({ ...e, ...n }));
  // fetch sends no body with GET; other methods without a schema get junk they must refuse or ignore
  const body =
    op.method === 'GET'
      ? fc.constant(undefined)
      : op.body
        ? bodyFor(op.body, ids)
        : fc.oneof(fc.constant(undefined), nastyJson);
  return fc.record({ pathValues, query, body });
}

const pathOf = (op: Operation, values: Record<string, string>) =>
  op.path.replace(/\{(\w+)\}/g, (_, k: string) => segment(values[k] ?? ''));

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'strata-fuzz-'));
  databaseUrl = await stackDatabaseUrl('memory:', 'fuzz');
  server = await startServer(
    {
      dataDir,
      databaseUrl,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      jobs: false, // accepted jobs stay queued: the database changes only by requests
      limits: { requestsPerMinute: 0, anonymousPerMinute: 0, jobWaits: 0, jobWaitsPerUser: 0 },
    },
    { listen: true, extensions: [cloudStackExtension()] },
  );
  const boot = server.bootstrap;
  assert.ok(boot);
  operator = { name: 'operator', apiKey: boot.apiKey, secretKey: boot.secretKey };
  const s = server.services;
  const mine = await s.accounts.create(SYSTEM_ACTOR, { name: 'fuzz-tenant' });
  const me = await s.accounts.createUser(SYSTEM_ACTOR, { accountId: mine.id, username: 'fuzz-user' });
  const myKey = await s.apiKeys.create(SYSTEM_ACTOR, { userId: me.id });
  tenant = { name: 'tenant', apiKey: myKey.apiKey, secretKey: myKey.secretKey };
  const other = await s.accounts.create(SYSTEM_ACTOR, { name: `${OTHER_MARK}-account` });
  const them = await s.accounts.createUser(SYSTEM_ACTOR, {
    accountId: other.id,
    username: `${OTHER_MARK}-user`,
  });
  const theirKey = await s.apiKeys.create(SYSTEM_ACTOR, { userId: them.id });
  const db = server.db;
  // Infrastructure and resources as rows: the fuzzer needs ids, not working storage.
  await db.query(`INSERT INTO zones (id, name) VALUES ('zone-fz', 'zone-fz')`);
  await db.query(`INSERT INTO clusters (id, zone_id, name) VALUES ('cluster-fz', 'zone-fz', 'cluster-fz')`);
  await db.query(
    `INSERT INTO hosts (id, cluster_id, name, state) VALUES ('host-fz', 'cluster-fz', 'host-fz', 'Up')`,
  );
  await db.query(
    `INSERT INTO storage_pools (id, zone_id, name, provider, scope, managed, state, capacity_bytes, capacity_iops, url)
     VALUES ('pool-fz', 'zone-fz', 'pool-fz', 'qcow2', 'zone', true, 'Up', 1099511627776, 100000, 'file:///var/lib/strata/fz')`,
  );
  await db.query(`INSERT INTO disk_offerings (id, name, size_bytes) VALUES ('off-fz', 'off-fz', 1073741824)`);
  await db.query(
    `INSERT INTO templates (id, name, path, format, size_bytes) VALUES ('tmpl-fz', 'tmpl-fz', '/var/lib/strata/templates/fz.qcow2', 'qcow2', 1073741824)`,
  );
  for (const [who, acct] of [
    ['mine', mine.id],
    ['other', other.id],
  ] as const) {
    const tag = who === 'other' ? `${OTHER_MARK}-` : '';
    await db.query(
      `INSERT INTO vms (id, account_id, name, state, template_id, cpus, memory_bytes) VALUES ($1, $2, $3, 'Stopped', 'tmpl-fz', 1, 536870912)`,
      [`vm-${who}`, acct, `${tag}vm`],
    );
    await db.query(
      `INSERT INTO volumes (id, account_id, name, type, state, pool_id, vm_id, device_name, size_bytes, backend_ref)
       VALUES ($1, $2, $3, 'ROOT', 'Ready', 'pool-fz', $4, 'vda', 1073741824, $5)`,
      [`vol-${who}`, acct, `${tag}root`, `vm-${who}`, `${tag}ref`],
    );
    await db.query(
      `INSERT INTO volumes (id, account_id, name, type, state, pool_id, size_bytes) VALUES ($1, $2, $3, 'DATA', 'Ready', 'pool-fz', 1073741824)`,
      [`vol-data-${who}`, acct, `${tag}data`],
    );
    await db.query(
      `INSERT INTO volume_snapshots (id, account_id, volume_id, name, state, backend_ref) VALUES ($1, $2, $3, $4, 'Ready', 'snapref')`,
      [`vsnap-${who}`, acct, `vol-${who}`, `${tag}snap`],
    );
    await db.query(
      `INSERT INTO vm_snapshots (id, account_id, vm_id, name, state, type) VALUES ($1, $2, $3, $4, 'Ready', 'Disk')`,
      [`vmsnap-${who}`, acct, `vm-${who}`, `${tag}vmsnap`],
    );
  }
  ids.push(
    ...['zone-fz', 'cluster-fz', 'host-fz', 'pool-fz', 'off-fz', 'tmpl-fz'],
    ...['mine', 'other'].flatMap((w) => [
      `vm-${w}`,
      `vol-${w}`,
      `vol-data-${w}`,
      `vsnap-${w}`,
      `vmsnap-${w}`,
    ]),
    mine.id,
    me.id,
    other.id,
    them.id,
    theirKey.apiKey,
  );
  otherIds.push(
    other.id,
    them.id,
    theirKey.apiKey,
    'vm-other',
    'vol-other',
    'vol-data-other',
    'vsnap-other',
    'vmsnap-other',
  );
  stateSql = await stateQuery(db);
  state = await readState(db, stateSql);
});

after(async () => {
  await server?.close();
  if (databaseUrl.startsWith('postgres')) await dropTestDatabase(databaseUrl);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

void describe('fuzzing the REST API from /openapi.json', () => {
  let ops: Operation[] = [];

  before(async () => {
    const doc = await send(null, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    ops = operationsOf(doc.json as { paths: Record<string, Record<string, Record<string, unknown>>> });
    assert.ok(ops.length > 50, `${ops.length} operations`);
  });

  // The tenant first: the operator's fuzzing may give the tenant's user another role.
  for (const who of ['tenant', 'operator'] as const)
    void test(`every operation, as ${who}: seeded hostile input gets a coded 4xx or a success`, async () => {
      const caller = who === 'tenant' ? tenant : operator;
      for (const op of ops) {
        await fc.assert(
          fc.asyncProperty(restCase(op), async (c) => {
            const path = pathOf(op, c.pathValues);
            const body = c.body === undefined ? undefined : JSON.stringify(c.body);
            const a = await send(caller, op.method, path, {
              query: c.query,
              ...(body !== undefined ? { body, contentType: 'application/json' } : {}),
            });
            await checkRest(
              `${who} ${op.method} ${path}`,
              caller,
              a,
              `${path} ${JSON.stringify(c.query)} ${body ?? ''}`,
            );
          }),
          { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
        );
      }
    });

  void test('bodies that are not JSON, of another type, empty, or too large; on every operation with a body', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x61);
    const bad: ReadonlyArray<{ name: string; body: string | Buffer; contentType?: string }> = [
      { name: 'invalid JSON', body: '{"name": "x",', contentType: 'application/json' },
      { name: 'NaN', body: '{"sizeBytes": NaN}', contentType: 'application/json' },
      { name: 'empty JSON', body: '', contentType: 'application/json' },
      { name: 'text', body: 'name=x', contentType: 'text/plain' },
      { name: 'form', body: 'name=x&role=admin', contentType: 'application/x-www-form-urlencoded' },
      { name: 'xml', body: '<a>x</a>', contentType: 'application/xml' },
      { name: 'no type', body: '{"name":"x"}' },
      {
        name: 'JSON with charset junk',
        body: '{"name":"x"}',
        contentType: 'application/json; charset=ebcdic',
      },
      { name: 'oversized', body: big, contentType: 'application/json' },
    ];
    for (const caller of [tenant, operator])
      for (const op of ops.filter((o) => o.method !== 'GET')) {
        const path = pathOf(op, Object.fromEntries(op.pathParams.map((p) => [p, 'vol-mine'])));
        // the body limit is checked before credentials: one caller is enough for the big one
        for (const b of bad.filter((x) => caller === tenant || x.name !== 'oversized')) {
          const a = await send(caller, op.method, path, {
            body: b.body,
            ...(b.contentType ? { contentType: b.contentType } : {}),
          });
          await checkRest(`${caller.name} ${op.method} ${path} (${b.name})`, caller, a, path);
        }
      }
  });

  void test('without credentials, or with a wrong secret, every operation answers a coded 401', async () => {
    const forged: Caller = { ...tenant, secretKey: 'not-the-secret' };
    for (const op of ops) {
      const path = pathOf(op, Object.fromEntries(op.pathParams.map((p) => [p, 'vol-other'])));
      for (const caller of [null, forged]) {
        const a = await send(
          caller,
          op.method,
          path,
          op.body ? { body: '{}', contentType: 'application/json' } : {},
        );
        await checkRest(`${caller ? 'forged' : 'anonymous'} ${op.method} ${path}`, operator, a, path);
        if (a.status >= 400 && op.path !== '/v1/auth/login')
          assert.ok(
            [401, 429].includes(a.status) || op.path === '/openapi.json',
            `${op.method} ${path}: ${a.status}`,
          );
      }
    }
  });
});

void describe('fuzzing the CloudStack API from listApis', () => {
  let commands: Array<{ name: string; params: CsParam[] }> = [];

  async function cs(caller: Caller, params: Record<string, string>): Promise<Answer> {
    const p: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries(wellFormed(params)).filter(([k]) => !COMMON_PARAMS.has(k.toLowerCase())),
      ),
      command: params['command'] ?? '',
      response: 'json',
      apiKey: caller.apiKey,
      signatureVersion: '3',
      expires: formatExpires(new Date(Date.now() + 300_000)),
    };
    const qs = new URLSearchParams({ ...p, signature: signParams(p, caller.secretKey) });
    const r = await fetch(`${server.url}/client/api?${qs.toString()}`);
    const text = await r.text();
    counts.requests++;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, text, json };
  }

  /** CloudStack's shape: `<command>response` (or `errorresponse`) with errorcode, cserrorcode, errortext. */
  async function checkCs(
    what: string,
    caller: Caller,
    command: string,
    a: Answer,
    sent: string,
  ): Promise<void> {
    const doc = a.json as Record<string, Record<string, unknown>> | undefined;
    assert.ok(doc, `${what}: not JSON: ${a.status} ${a.text.slice(0, 300)}`);
    const inner = doc[`${command.toLowerCase()}response`] ?? doc['errorresponse'];
    assert.ok(inner && typeof inner === 'object', `${what}: ${a.text.slice(0, 300)}`);
    if (a.status >= 400) {
      counts.refused++;
      assert.equal(inner['errorcode'], a.status, what);
      assert.equal(typeof inner['cserrorcode'], 'number', what);
      assert.equal(typeof inner['errortext'], 'string', what);
      const code = String(inner['stratacode']);
      assert.ok(errorRegistry.has(code), `${what}: unregistered ${code}`);
      // CloudStack answers its own 53x codes (in use, capacity, ...); a crash is never one of them.
      assert.notEqual(code, 'INTERNAL', `${what}: ${a.text.slice(0, 500)}`);
      if (a.status >= 500) assert.ok([530, 531, 533, 534, 536].includes(a.status), `${what}: ${a.status}`);
      assert.doesNotMatch(a.text, DB_TEXT, `${what}: database text in ${a.text.slice(0, 300)}`);
    } else {
      counts.ok++;
      assert.equal(a.status, 200, what);
    }
    await checkState(what, a.status);
    if (caller.name === 'tenant') checkIsolation(what, a.text, sent);
  }

  before(async () => {
    const apis = await cs(operator, { command: 'listApis' });
    const list = (apis.json as { listapisresponse: { api: Array<{ name: string; params: CsParam[] }> } })
      .listapisresponse.api;
    commands = list.map((c) => ({ name: c.name, params: c.params }));
    assert.ok(commands.length > 30, `${commands.length} commands`);
  });

  for (const who of ['tenant', 'operator'] as const)
    void test(`every command, as ${who}: hostile, missing and unknown parameters get CloudStack errors, never a crash`, async () => {
      const caller = who === 'tenant' ? tenant : operator;
      for (const cmd of commands) {
        await fc.assert(
          fc.asyncProperty(csParamsFor(cmd.params, ids), async (params) => {
            const a = await cs(caller, { ...params, command: cmd.name });
            await checkCs(
              `${who} ${cmd.name} ${JSON.stringify(params).slice(0, 300)}`,
              caller,
              cmd.name,
              a,
              JSON.stringify(params),
            );
          }),
          { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
        );
      }
    });

  void test('unknown and hostile command names answer 432 in CloudStack shape', async () => {
    for (const name of [
      'noSuchCommand',
      'LISTZONES',
      "listZones'; --",
      '<b>',
      'constructor',
      '__proto__',
      'toString',
      '',
    ])
      for (const caller of [tenant, operator]) {
        const a = await cs(caller, { command: name });
        await checkCs(`${caller.name} command ${JSON.stringify(name)}`, caller, name, a, name);
        assert.ok([401, 431, 432].includes(a.status), `${name}: ${a.status} ${a.text.slice(0, 200)}`);
      }
  });
});

void test('what the fuzzer found stays fixed: an operator naming an account that does not exist', async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['/v1/vms', { name: 'fz-regress', cpus: 37, accountId: '\\' }],
    ['/v1/volumes', { name: 'fz-regress', poolId: 'pool-fz', sizeBytes: 1073741824, accountId: 'acct-none' }],
  ];
  for (const [path, body] of cases) {
    const a = await send(operator, 'POST', path, {
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    await checkRest(`operator POST ${path}`, operator, a, path);
    assert.equal(a.status, 404, a.text);
    assert.equal((a.json as { error: { code: string } }).error.code, 'NOT_FOUND');
  }
});

void test('the fuzzer sent what it claims', () => {
  // Visible in the test output, so a run that silently skipped everything is noticed.
  console.log(`fuzz: ${JSON.stringify(counts)} seed=${SEED} runs=${RUNS}`);
  assert.ok(counts.requests > 500, JSON.stringify(counts));
});
