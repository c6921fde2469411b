import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listedSource } from './listed-source.js';

// domblklist prints a file's path and a network disk's source name (pool/image, iqn/lun).
test('a disk source is named as domblklist names it', () => {
  assert.equal(
    listedSource({ kind: 'file', path: "/pools/a b/v'1.qcow2", format: 'qcow2' }),
    "/pools/a b/v'1.qcow2",
  );
  assert.equal(
    listedSource({ kind: 'rbd', pool: 'strata', image: 'vol-1', monitors: ['127.0.0.1:3300'] }),
    'strata/vol-1',
  );
  assert.equal(
    listedSource({ kind: 'iscsi', portal: '127.0.0.1:3260', iqn: 'iqn.2026-01.io.strata:v1', lun: 1 }),
    'iqn.2026-01.io.strata:v1/1',
  );
});
