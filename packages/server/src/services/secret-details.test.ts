import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MASKED, mapUrlPassword, maskDetails, maskUrl, splitUrlPassword } from './secret-details.js';

void test('a URL password is found between the user and the @, and nowhere else', () => {
  assert.deepEqual(splitUrlPassword('iscsi://chap:pa:ss@10.0.0.5/iqn'), {
    before: 'iscsi://chap:',
    password: 'pa:ss',
    after: '@10.0.0.5/iqn',
  });
  assert.equal(splitUrlPassword('iscsi://chap@10.0.0.5/iqn'), null, 'a user without a password');
  assert.equal(splitUrlPassword('file:///srv/pool'), null);
  assert.equal(splitUrlPassword('rbd://mon/pool/a:b@c'), null, 'a colon after the host is not a password');
});

void test('mapping the password keeps the rest of the URL byte for byte', () => {
  const url = 'rbd://admin:s3cret@mon1:6789/pool?x=1';
  assert.equal(
    mapUrlPassword(url, (p) => p.toUpperCase()),
    'rbd://admin:S3CRET@mon1:6789/pool?x=1',
  );
  assert.equal(
    mapUrlPassword('file:///srv/pool', () => 'x'),
    'file:///srv/pool',
  );
  assert.equal(maskUrl(url), `rbd://admin:${MASKED}@mon1:6789/pool?x=1`);
  assert.equal(maskUrl('iscsi://chap:enc:v1:abc:def:ghi@h/iqn'), `iscsi://chap:${MASKED}@h/iqn`);
});

void test('secret details are masked by name, others shown', () => {
  assert.deepEqual(maskDetails({ chapKey: 'k', cephxKey: 'c', keyringPath: '/etc/k', apiToken: 't' }), {
    chapKey: MASKED,
    cephxKey: MASKED,
    keyringPath: '/etc/k',
    apiToken: MASKED,
  });
});
