import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, dropTestDatabase } from '@strata/testing';
import { SYSTEM_ACTOR } from '../services/index.js';
import { signParams } from '../auth/signature.js';
import { commandTable } from './commands/index.js';
import { cloudstack, type CsRun } from './cs-client.js';
import { startHarness, type Harness } from './test-harness.js';

// Every call goes through Debian's real CloudStack client (`cloudstack`, package cs): it signs
// with version 3 + expires and polls async jobs itself, exactly as operators' tools do. The server
// runs on PostgreSQL here; the CloudStack story runs on PGlite.

const suffix = Math.random().toString(36).slice(2, 8);
const nasty = `z <&>"'$;\`(${suffix})`;
let h: Harness & { readonly dataDir: string };
let databaseUrl = '';

/** The one key under cs's one-key wrapper. */
function inner(run: CsRun, wrapper: string): Record<string, unknown> {
  assert.ok(run.json, `no JSON from cloudstack: ${run.stdout} ${run.stderr}`);
  const body = run.json[wrapper];
  assert.ok(body && typeof body === 'object', `expected ${wrapper} in ${run.stdout}`);
  return body as Record<string, unknown>;
}

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}

function csError(
  run: CsRun,
  wrapper = 'errorresponse',
): { errorcode: number; cserrorcode: number; errortext: string; stratacode: string } {
  assert.equal(run.code, 1, `expected a failure: ${run.stdout}`);
  return inner(run, wrapper) as {
    errorcode: number;
    cserrorcode: number;
    errortext: string;
    stratacode: string;
  };
}

/** A request signed the canonical way (auth/signature.ts), for what cs cannot send: XML, raw bodies. */
async function signedGet(harness: Harness, params: Record<string, string>): Promise<Response> {
  const expires = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const all = { ...params, apiKey: harness.admin.key, signatureVersion: '3', expires };
  const signature = signParams(all, harness.admin.secret);
  return fetch(`${harness.admin.endpoint}?${new URLSearchParams({ ...all, signature }).toString()}`);
}

before(async () => {
  databaseUrl = await createTestDatabase('cs');
  h = await startHarness([], databaseUrl);
});
after(async () => {
  await h?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

void describe('catalogue and infrastructure through the cs client', () => {
  let zoneId = '';

  void test('listApis describes every command of the table, with async flags and parameters', async () => {
    const out = ok(await cloudstack(h.admin, 'listApis'));
    const apis = out['api'] as Array<{
      name: string;
      isasync: boolean;
      params: Array<{ name: string; required: boolean }>;
    }>;
    assert.equal(out['count'], commandTable.size);
    assert.deepEqual(apis.map((a) => a.name).sort(), [...commandTable.keys()].sort());
    const deploy = apis.find((a) => a.name === 'deployVirtualMachine');
    assert.equal(deploy?.isasync, true);
    assert.ok(deploy?.params.some((p) => p.name === 'templateid' && p.required));
    assert.equal(apis.find((a) => a.name === 'listZones')?.isasync, false);
  });

  void test('listCapabilities answers the capability object', async () => {
    const out = ok(await cloudstack(h.admin, 'listCapabilities'));
    const cap = out['capability'] as Record<string, unknown>;
    assert.equal(cap['kvmsnapshotenabled'], true);
    assert.equal(typeof cap['cloudstackversion'], 'string');
  });

  void test('listZones answers count and zone, names with metacharacters intact', async () => {
    const zone = await h.server.services.zones.create(SYSTEM_ACTOR, { name: nasty });
    zoneId = zone.id;
    const out = ok(await cloudstack(h.admin, 'listZones'));
    assert.equal(out['count'], 1);
    const zones = out['zone'] as Array<Record<string, unknown>>;
    assert.equal(zones[0]?.['id'], zone.id);
    assert.equal(zones[0]?.['name'], nasty);
    const byName = ok(await cloudstack(h.admin, 'listZones', { name: nasty }));
    assert.equal(byName['count'], 1);
  });

  void test('createStoragePool creates, listStoragePools finds it with capacity and IOPS', async () => {
    const out = ok(
      await cloudstack(h.admin, 'createStoragePool', {
        name: `pool-${suffix}`,
        url: `/var/lib/strata/test-${suffix}`,
        zoneid: zoneId,
        provider: 'qcow2',
        scope: 'zone',
        managed: 'false',
        capacitybytes: String(10 * 1024 ** 3),
        capacityiops: '5000',
      }),
    );
    const pool = out['storagepool'] as Record<string, unknown>;
    assert.equal(pool['name'], `pool-${suffix}`);
    assert.equal(pool['scope'], 'ZONE');
    assert.equal(pool['capacityiops'], 5000);
    assert.equal(pool['disksizetotal'], 10 * 1024 ** 3);
    const list = ok(await cloudstack(h.admin, 'listStoragePools', { zoneid: zoneId }));
    assert.equal(list['count'], 1);
    assert.equal((list['storagepool'] as Array<Record<string, unknown>>)[0]?.['id'], pool['id']);
  });

  void test('createDiskOffering keeps miniops/maxiops/hypervisorsnapshotreserve; listDiskOfferings finds it', async () => {
    const out = ok(
      await cloudstack(h.admin, 'createDiskOffering', {
        name: `gold-${suffix}`,
        displaytext: 'Gold',
        disksize: '1',
        miniops: '100',
        maxiops: '400',
        hypervisorsnapshotreserve: '20',
      }),
    );
    const off = out['diskoffering'] as Record<string, unknown>;
    assert.equal(off['disksize'], 1);
    assert.equal(off['miniops'], 100);
    assert.equal(off['maxiops'], 400);
    assert.equal(off['hypervisorsnapshotreserve'], 20);
    const list = ok(await cloudstack(h.admin, 'listDiskOfferings', { id: String(off['id']) }));
    assert.equal(list['count'], 1);
  });

  void test('listTemplates lists registered base images', async () => {
    // No agent is connected here to check a file (template-files.int covers registration): the
    // row is written as registration writes it.
    const t = { id: `tmpl-cs-${suffix}` };
    await h.server.services.db.query(
      `INSERT INTO templates (id, name, path, format, size_bytes) VALUES ($1, $2, $3, 'qcow2', $4)`,
      [t.id, `tiny-${suffix}`, join(h.dataDir, 'templates', 'tiny.qcow2'), 64 * 1024 ** 2],
    );
    const out = ok(await cloudstack(h.admin, 'listTemplates', { templatefilter: 'all' }));
    const items = out['template'] as Array<Record<string, unknown>>;
    const mine = items.find((x) => x['id'] === t.id);
    assert.equal(mine?.['format'], 'QCOW2');
    assert.equal(mine?.['isready'], true);
  });

  void test('lists with nothing in them answer an empty object, as CloudStack does', async () => {
    for (const cmd of ['listVolumes', 'listVirtualMachines', 'listSnapshots', 'listVMSnapshot']) {
      const run = await cloudstack(h.user, cmd);
      // cs prints nothing for an empty answer; the answer itself is {"<cmd>response":{}}.
      assert.equal(run.code, 0, `${cmd}: ${run.stderr}`);
      assert.equal(run.stdout.trim(), '', cmd);
    }
    const res = await signedGet(h, { command: 'listVolumes', response: 'json' });
    assert.deepEqual(await res.json(), { listvolumesresponse: {} });
  });

  void test('POST works like GET', async () => {
    const out = ok(await cloudstack(h.admin, 'listZones', {}, { post: true }));
    assert.equal(out['count'], 1);
  });

  void test('an unversioned (v1) signature is accepted for reads only', async () => {
    const out = ok(await cloudstack(h.admin, 'listZones', {}, { expiration: -1 }));
    assert.equal(out['count'], 1);
    // cs without expires: a state-changing command is refused (docs/security.md)
    const e = csError(
      await cloudstack(
        h.admin,
        'createDiskOffering',
        { name: `v1-${suffix}`, disksize: '1' },
        { expiration: -1 },
      ),
    );
    assert.equal(e.errorcode, 401);
    assert.equal(e.stratacode, 'AUTH_BAD_SIGNATURE');
    // cs prints nothing for an empty list
    const none = await cloudstack(h.admin, 'listDiskOfferings', { name: `v1-${suffix}` });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout.trim(), '', 'nothing was created');
  });

  void test('a state-changing command signed with expires is refused when sent again', async () => {
    const params = {
      command: 'createDiskOffering',
      name: `replay-${suffix}`,
      disksize: '1',
      response: 'json',
    };
    const expires = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, '+0000');
    const all = { ...params, apiKey: h.admin.key, signatureVersion: '3', expires };
    const url = `${h.admin.endpoint}?${new URLSearchParams({ ...all, signature: signParams(all, h.admin.secret) }).toString()}`;
    const first = await fetch(url);
    assert.equal(first.status, 200, await first.text());
    const again = await fetch(url);
    assert.equal(again.status, 401);
    const body = (await again.json()) as { errorresponse: { stratacode: string } };
    assert.equal(body.errorresponse.stratacode, 'AUTH_REPLAYED');
    const list = ok(await cloudstack(h.admin, 'listDiskOfferings', { name: `replay-${suffix}` }));
    assert.equal(list['count'], 1, 'created once');
    // reads stay repeatable: cs polls with byte-identical requests
    const read = await signedGet(h, { command: 'listZones', response: 'json' });
    assert.equal(read.status, 200);
  });

  void test('prepareHostForMaintenance is a job that puts an empty host in Maintenance; cancelHostMaintenance brings it back', async () => {
    const services = h.server.services;
    // the file's one zone (other tests count it), made here when this test runs alone
    const zone =
      (await services.zones.list(SYSTEM_ACTOR)).items[0] ??
      (await services.zones.create(SYSTEM_ACTOR, { name: `maint-${suffix}` }));
    const cluster = await services.clusters.create(SYSTEM_ACTOR, {
      zoneId: zone.id,
      name: `maint-${suffix}`,
    });
    const hostId = `host-maint-${suffix}`;
    await services.db.query(
      `INSERT INTO hosts (id, cluster_id, name, state, cpus, memory_bytes) VALUES ($1, $2, $1, 'Up', 2, $3)`,
      [hostId, cluster.id, 1024 ** 3],
    );
    const prepared = ok(await cloudstack(h.admin, 'prepareHostForMaintenance', { id: hostId }));
    // cs polls the job itself and prints its result
    const host = prepared['host'] as Record<string, unknown> | undefined;
    assert.equal(host?.['resourcestate'], 'Maintenance', JSON.stringify(prepared));
    const listed = ok(await cloudstack(h.admin, 'listHosts', { id: hostId }));
    assert.equal((listed['host'] as Array<Record<string, unknown>>)[0]?.['state'], 'Maintenance');
    const user = csError(
      await cloudstack(h.user, 'cancelHostMaintenance', { id: hostId }),
      'cancelhostmaintenanceresponse',
    );
    assert.equal(user.stratacode, 'AUTH_FORBIDDEN');
    ok(await cloudstack(h.admin, 'cancelHostMaintenance', { id: hostId }));
    assert.equal((await services.hosts.get(SYSTEM_ACTOR, hostId)).state, 'Up');
  });

  void test('a user sees no hosts or pools and templates without paths; no answer holds a secret', async () => {
    for (const cmd of ['listHosts', 'listStoragePools']) {
      const e = csError(await cloudstack(h.user, cmd), `${cmd.toLowerCase()}response`);
      assert.equal(e.errorcode, 531, cmd);
      assert.equal(e.stratacode, 'AUTH_FORBIDDEN', cmd);
    }
    const chapKey = `master-chap-${suffix}`;
    const pool = await h.server.services.pools.create(SYSTEM_ACTOR, {
      name: `chap-${suffix}`,
      zoneId: (await h.server.services.zones.list(SYSTEM_ACTOR)).items[0]!.id,
      provider: 'tgt',
      scope: 'zone',
      managed: true,
      capacityBytes: 1024 ** 3,
      capacityIops: 100,
      url: `iscsi://admin:portal-password-${suffix}@127.0.0.1/iqn.x`,
      details: { chapKey },
    });
    const asAdmin = await cloudstack(h.admin, 'listStoragePools', { id: pool.id });
    assert.equal(asAdmin.code, 0, asAdmin.stdout);
    assert.ok(!asAdmin.stdout.includes(chapKey), asAdmin.stdout);
    assert.ok(!asAdmin.stdout.includes(`portal-password-${suffix}`), asAdmin.stdout);
    const templates = await cloudstack(h.user, 'listTemplates', { templatefilter: 'all' });
    assert.equal(templates.code, 0, templates.stderr);
    assert.ok(!templates.stdout.includes(h.dataDir), templates.stdout);
  });
});

void describe("CloudStack's error codes", () => {
  void test('an unknown command answers 432', async () => {
    const e = csError(await cloudstack(h.admin, 'listWidgets'));
    assert.equal(e.errorcode, 432);
    assert.equal(e.cserrorcode, 9999);
    assert.equal(e.errortext, 'The given command does not exist or it is not available for user');
  });

  void test("a missing parameter answers 431 with CloudStack's text", async () => {
    const e = csError(
      await cloudstack(h.admin, 'createStoragePool', { name: 'x' }),
      'createstoragepoolresponse',
    );
    assert.equal(e.errorcode, 431);
    assert.equal(e.cserrorcode, 9999);
    assert.match(
      e.errortext,
      /^Unable to execute API command createStoragePool due to missing parameter (url|zoneid)$/,
    );
  });

  void test('malformed parameters answer 431', async () => {
    const badPage = csError(await cloudstack(h.admin, 'listVolumes', { page: 'abc' }), 'listvolumesresponse');
    assert.equal(badPage.errorcode, 431);
    assert.match(badPage.errortext, /Invalid parameter page value=abc/);
    // a huge page number is refused before SQL (its offset would overflow)
    const hugePage = csError(
      await cloudstack(h.admin, 'listVolumes', { page: '5000000' }),
      'listvolumesresponse',
    );
    assert.equal(hugePage.errorcode, 431);
    assert.equal(hugePage.stratacode, 'INVALID_ARGUMENT');
    const badId = csError(
      await cloudstack(h.admin, 'listVolumes', { id: 'not an id!' }),
      'listvolumesresponse',
    );
    assert.equal(badId.errorcode, 431);
    const badBool = csError(
      await cloudstack(h.admin, 'createSnapshot', { volumeid: 'vol-1', quiescevm: 'maybe' }),
      'createsnapshotresponse',
    );
    assert.equal(badBool.errorcode, 431);
  });

  void test("an id that does not exist answers 431 with InvalidParameterValueException's 4350", async () => {
    const e = csError(
      await cloudstack(h.admin, 'listVolumes', { id: `vol-missing${suffix}` }),
      'listvolumesresponse',
    );
    assert.equal(e.errorcode, 431);
    assert.equal(e.cserrorcode, 4350);
    assert.equal(e.stratacode, 'NOT_FOUND');
  });

  void test("a user may not do an admin's work: 531 with PermissionDeniedException's 4365", async () => {
    const e = csError(
      await cloudstack(h.user, 'createDiskOffering', { name: `nope-${suffix}`, disksize: '1' }),
      'creatediskofferingresponse',
    );
    assert.equal(e.errorcode, 531);
    assert.equal(e.cserrorcode, 4365);
  });

  void test("a bad signature answers 401 with CloudStack's text", async () => {
    const e = csError(await cloudstack({ ...h.admin, secret: 'not-the-secret' }, 'listZones'));
    assert.equal(e.errorcode, 401);
    assert.equal(e.errortext, 'unable to verify user credentials and/or request signature');
    assert.equal(e.stratacode, 'AUTH_BAD_SIGNATURE');
  });

  void test('an unknown API key answers 401', async () => {
    const e = csError(await cloudstack({ ...h.admin, key: 'no-such-key' }, 'listZones'));
    assert.equal(e.errorcode, 401);
  });

  void test('an expired v3 signature answers 401', async () => {
    const run = await cloudstack(h.admin, 'listZones', {
      signatureVersion: '3',
      expires: '2020-01-01T00:00:00+0000',
    });
    const e = csError(run);
    assert.equal(e.errorcode, 401);
    assert.equal(e.errortext, 'unable to verify user credentials and/or request signature');
    assert.equal(e.stratacode, 'AUTH_SIGNATURE_EXPIRED');
  });
});

void describe("XML answers (CloudStack's default)", () => {
  void test('without response=json the answer is XML, every value escaped', async () => {
    const res = await signedGet(h, { command: 'listZones' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/xml/);
    const text = await res.text();
    assert.match(
      text,
      /^<\?xml version="1.0" encoding="UTF-8"\?><listzonesresponse cloud-stack-version="[^"]+"><count>1<\/count><zone>/,
    );
    assert.ok(text.includes('<name>z &lt;&amp;&gt;&quot;&apos;$;`('), text);
  });

  void test('errors are XML too, with the HTTP status of errorcode', async () => {
    const res = await signedGet(h, { command: 'listWidgets' });
    assert.equal(res.status, 432);
    const text = await res.text();
    assert.match(
      text,
      /<errorresponse [^>]*><uuidList><\/uuidList>|<errorresponse [^>]*><errorcode>432<\/errorcode>/,
    );
    assert.ok(
      text.includes('<errorcode>432</errorcode>') && text.includes('<cserrorcode>9999</cserrorcode>'),
      text,
    );
  });
});
