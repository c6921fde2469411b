import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTargets, Tgtadm } from './tgtadm.js';
import { chapCredentials, iqnSlug } from './config.js';

const sample = `Target 7: iqn.2026-11.io.strata:p.v1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.2026-11.io.strata.test:h1 alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
        LUN: 1
            Type: disk
            Backing store path: /pool/volumes/v1.raw
            Backing store flags: 
    Account information:
        strata-v1
    ACL information:
        iqn.2026-11.io.strata.test:h1
Target 9: iqn.2026-11.io.strata:p.v2
    System information:
        Driver: iscsi
    I_T nexus information:
    LUN information:
        LUN: 0
            Backing store path: None
    Account information:
    ACL information:
`;

void test('parseTargets reads tids, LUN backing paths, sessions, accounts and ACLs', () => {
  const [a, b] = parseTargets(sample);
  assert.equal(a?.tid, 7);
  assert.equal(a?.iqn, 'iqn.2026-11.io.strata:p.v1');
  assert.deepEqual([...(a?.luns ?? [])], [[1, '/pool/volumes/v1.raw']]);
  assert.deepEqual(a?.sessions, ['iqn.2026-11.io.strata.test:h1']);
  assert.deepEqual(a?.nexuses, [{ sid: 3, initiator: 'iqn.2026-11.io.strata.test:h1', connections: [0] }]);
  assert.deepEqual(b?.nexuses, []);
  assert.deepEqual(a?.accounts, ['strata-v1']);
  assert.deepEqual(a?.acls, ['iqn.2026-11.io.strata.test:h1']);
  assert.equal(b?.tid, 9);
  assert.equal(b?.luns.size, 0);
  assert.deepEqual(b?.acls, []);
});

void test('iqnSlug keeps IQNs legal for any pool name; CHAP secrets are stable per volume', () => {
  assert.equal(iqnSlug(`My Pool "x" <&> $; \``), 'my-pool-x');
  assert.equal(iqnSlug('***'), 'pool');
  assert.deepEqual(chapCredentials('k', 'v1'), chapCredentials('k', 'v1'));
  assert.notEqual(chapCredentials('k', 'v1').password, chapCredentials('k', 'v2').password);
});

void test('a failed tgtadm call reports neither the password nor the command line', async () => {
  // `false` fails with no stderr: the error then used to carry "Command failed: <argv>".
  const secret = 'Chap-Secret-9f3';
  const err: unknown = await new Tgtadm('false')
    .newAccount({ signal: new AbortController().signal }, 'strata-v1', secret)
    .then(
      () => assert.fail('false must fail'),
      (e: unknown) => e,
    );
  assert.equal((err as { code?: string }).code, 'STORAGE_BACKEND_FAILED');
  const seen = JSON.stringify({ m: (err as Error).message, e: err, c: (err as Error).cause ?? null });
  assert.ok(!seen.includes(secret), `the error leaks the password: ${seen}`);
  assert.match(seen, /tgtadm new account/);
});
