import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError } from '@strata/core';
import { parseFaultPoint } from './fault.js';

test('the fault hook reads <jobType>:<step>:<boundary>, splitting from the right', () => {
  assert.equal(parseFaultPoint(undefined), null);
  assert.equal(parseFaultPoint(''), null);
  assert.deepEqual(parseFaultPoint('vm-snapshot.delete:merge-files:after'), {
    jobType: 'vm-snapshot.delete',
    step: 'merge-files',
    boundary: 'after',
  });
});

test('a malformed fault hook is INVALID_ARGUMENT naming the variable, never silently off', () => {
  for (const bad of ['vm-snapshot.delete:merge-files', 'x:y:during', ':step:before', 'job::after', 'after']) {
    assert.throws(
      () => parseFaultPoint(bad),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'INVALID_ARGUMENT' &&
        JSON.stringify(e.params).includes('STRATA_FAULT_KILL_AT'),
      bad,
    );
  }
});
