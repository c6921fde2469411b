import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cloudstack, type CsRun } from '../cloudstack/cs-client.js';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';
import { ApiClient } from './test-client.js';
import { withoutOperatorFields } from './operator-fields.js';

// A volume's and a snapshot's backendRef (the backend's own name or path) is the operator's
// infrastructure: a real server (REST and, through Debian's `cloudstack` client, the CloudStack
// API) shows it to an operator and to nobody else, even the volume's owner (docs/security.md).

const REF = '/var/lib/strata/pools/p1/vol-secret-path.qcow2';
const SNAP_REF = 'vol-secret-path.qcow2@snap-1';
let h: Harness;
let operator: ApiClient;
let owner: ApiClient;
const volumeId = 'vol-fields-1';
const snapshotId = 'vsnap-fields-1';

function csOk(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, run.stdout);
  return run.json;
}

before(async () => {
  h = await startHarness();
  const db = h.server.db;
  await db.query(`INSERT INTO zones (id, name) VALUES ('zone-fields', 'zone-fields')`);
  await db.query(
    `INSERT INTO storage_pools (id, zone_id, name, provider, scope, managed, state, capacity_bytes, capacity_iops, url)
     VALUES ('pool-fields', 'zone-fields', 'pool-fields', 'qcow2', 'zone', true, 'Up', 1073741824, 1000, 'file:///var/lib/strata/pools/p1')`,
  );
  await db.query(
    `INSERT INTO volumes (id, account_id, name, type, state, pool_id, size_bytes, backend_ref)
     VALUES ($1, $2, 'owned', 'DATA', 'Ready', 'pool-fields', 1073741824, $3)`,
    [volumeId, h.user.actor.accountId, REF],
  );
  await db.query(
    `INSERT INTO volume_snapshots (id, account_id, volume_id, name, state, backend_ref)
     VALUES ($1, $2, $3, 'snap', 'Ready', $4)`,
    [snapshotId, h.user.actor.accountId, volumeId, SNAP_REF],
  );
  operator = new ApiClient({ url: h.server.url }, { apiKey: h.admin.key, secretKey: h.admin.secret });
  owner = operator.as({ apiKey: h.user.key, secretKey: h.user.secret });
});

after(async () => {
  await h?.close();
});

void describe('backendRef is for operators only', () => {
  void test('REST: the owner reads its volume and snapshot without it; the operator with it', async () => {
    for (const path of [
      `/v1/volumes/${volumeId}`,
      `/v1/volumes`,
      `/v1/volume-snapshots/${snapshotId}`,
      '/v1/volume-snapshots',
    ]) {
      const mine = await owner.get(path);
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      const text = JSON.stringify(mine.body);
      assert.ok(text.includes(volumeId), `${path}: the owner sees its own resource`);
      assert.doesNotMatch(text, /backendRef|vol-secret-path/, path);
      const ops = await operator.get(path);
      assert.match(JSON.stringify(ops.body), /"backendRef":"[^"]*vol-secret-path/, path);
    }
  });

  void test('the OpenAPI document does not promise backendRef to everyone', async () => {
    const doc = await operator.as(null).get('/openapi.json');
    const text = JSON.stringify(doc.body);
    assert.match(text, /operators only/);
    const schemas: Record<string, { title?: string; required?: string[] }> =
      doc.body.components?.schemas ?? {};
    for (const s of Object.values(schemas))
      if (s.title === 'Volume' || s.title === 'VolumeSnapshot')
        assert.ok(!s.required?.includes('backendRef'));
  });

  void test('CloudStack listVolumes: path for the admin, not for the owning user', async () => {
    const asUser = csOk(await cloudstack(h.user, 'listVolumes', { id: volumeId }));
    const mine = (asUser['volume'] as Array<Record<string, unknown>>)[0];
    assert.equal(mine?.['id'], volumeId);
    assert.equal(mine?.['path'], undefined, JSON.stringify(mine));
    assert.doesNotMatch(JSON.stringify(asUser), /vol-secret-path/);
    const asAdmin = csOk(await cloudstack(h.admin, 'listVolumes', { id: volumeId }));
    assert.equal((asAdmin['volume'] as Array<Record<string, unknown>>)[0]?.['path'], REF);
  });

  void test('the filter copies: nested, in arrays, never edits the object it was given', () => {
    const given = { items: [{ id: 'v', backendRef: 'x', nested: { backendRef: 'y', keep: 1 } }], total: 1 };
    assert.deepEqual(withoutOperatorFields(given), { items: [{ id: 'v', nested: { keep: 1 } }], total: 1 });
    assert.equal(given.items[0]?.backendRef, 'x');
  });
});
