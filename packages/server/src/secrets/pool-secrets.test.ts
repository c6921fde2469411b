import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { openPoolSecrets, poolSecretValues, sealPoolSecrets } from './pool-secrets.js';
import { tempSecretBox } from './testing/temp-box.js';

const plain = {
  url: 'rbd://admin:url-pass@mon1:6789/pool',
  details: { cephxKey: 'AQB-cephx', chapKey: 'chap-1', keyringPath: '/etc/ceph/keyring' },
};

void test('a pool keeps its non-secret fields readable and every secret sealed, and opens back', async () => {
  const box = await tempSecretBox();
  const sealed = sealPoolSecrets('pool-1', plain, box.sealerWith(box.keyring.current));
  assert.match(sealed.url, /^rbd:\/\/admin:enc:v1:[^@]+@mon1:6789\/pool$/);
  assert.equal(sealed.details['keyringPath'], '/etc/ceph/keyring');
  assert.ok(!JSON.stringify(sealed).includes('url-pass'));
  assert.ok(!JSON.stringify(sealed).includes('AQB-cephx'));
  assert.ok(!JSON.stringify(sealed).includes('chap-1'));
  assert.equal(poolSecretValues('pool-1', sealed).length, 3);
  assert.ok(poolSecretValues('pool-1', sealed).every((v) => box.isCurrent(v.value)));
  assert.deepEqual(await openPoolSecrets(box, 'pool-1', sealed), plain);
});

void test('a URL without a password is stored as it is; plain (old) values open as they are', async () => {
  const box = await tempSecretBox();
  const fields = { url: 'file:///srv/pool', details: { dir: '/srv' } };
  assert.deepEqual(sealPoolSecrets('pool-1', fields, box.sealerWith(box.keyring.current)), fields);
  assert.deepEqual(await openPoolSecrets(box, 'pool-1', plain), plain);
  assert.equal(poolSecretValues('pool-1', plain).filter((v) => box.isCurrent(v.value)).length, 0);
});

void test("another pool's sealed secrets do not open as this pool's", async () => {
  const box = await tempSecretBox();
  const sealed = sealPoolSecrets('pool-1', plain, box.sealerWith(box.keyring.current));
  await assert.rejects(openPoolSecrets(box, 'pool-2', sealed), (e: unknown) =>
    isStrataError(e, 'SECRETS_OPEN_FAILED'),
  );
});
