import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors/strata-error.js';
import {
  admitIops,
  provisionedBytes,
  validateHostPath,
  validateReserve,
  validateSize,
  validateStorageId,
} from './validate.js';

void test('sizes: zero, negative, fractional, absurd and unaligned are INVALID_ARGUMENT', () => {
  for (const bad of [0, -1, 1.5, 2 ** 60, 1000, Number.NaN, '1']) {
    assert.throws(() => validateSize('sizeBytes', bad), { code: 'INVALID_ARGUMENT' }, String(bad));
  }
  assert.equal(validateSize('sizeBytes', 1024 * 1024), 1024 * 1024);
});

void test('ids hold to a small alphabet', () => {
  assert.equal(validateStorageId('volumeId', 'a0-b1'), 'a0-b1');
  for (const bad of ['', 'A', '-a', 'a b', 'a;b', "a'b", 'x'.repeat(65), 7]) {
    assert.throws(() => validateStorageId('volumeId', bad), { code: 'INVALID_ARGUMENT' }, String(bad));
  }
});

void test('reserve adds to provisioned bytes; bad reserve refused', () => {
  assert.equal(provisionedBytes(1000, 20), 1200);
  assert.equal(validateReserve(undefined), 0);
  assert.throws(() => validateReserve(-1), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => validateReserve(101), { code: 'INVALID_ARGUMENT' });
});

void test('admission refuses min IOPS beyond the pool with STORAGE_IOPS_EXHAUSTED', () => {
  admitIops('p', 1000, 500, 500);
  assert.throws(() => admitIops('p', 1000, 500, 501), { code: 'STORAGE_IOPS_EXHAUSTED' });
  admitIops('p', 0, 10 ** 6, 10 ** 6); // 0 = unlimited
});

void test('host paths for command line tools must be absolute: no option, no protocol', () => {
  assert.equal(
    validateHostPath('template.path', '/var/lib/strata/templates/a.qcow2'),
    '/var/lib/strata/templates/a.qcow2',
  );
  for (const bad of [
    '-f',
    '--help',
    '-Ofoo.img',
    'nbd:localhost:10809',
    'json:{}',
    'a.qcow2',
    './a',
    '',
    '/a\nb',
    '/a\0b',
    7,
    null,
  ]) {
    assert.throws(
      () => validateHostPath('template.path', bad),
      (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === 'template.path',
      String(bad),
    );
  }
});
