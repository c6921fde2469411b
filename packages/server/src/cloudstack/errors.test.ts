import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StrataError } from '@strata/core';
import { csCodes, toCsError, UNAUTHORIZED_TEXT } from './errors.js';

void test("every authentication failure is 401 with CloudStack's one text, whatever the cause", () => {
  for (const code of ['AUTH_BAD_SIGNATURE', 'AUTH_SIGNATURE_EXPIRED', 'AUTH_UNAUTHENTICATED'] as const) {
    const e = toCsError(new StrataError(code, { reason: 'x', expires: 'then' }));
    assert.deepEqual(
      [e.errorcode, e.cserrorcode, e.errortext, e.stratacode],
      [401, 9999, UNAUTHORIZED_TEXT, code],
    );
  }
});

void test("registry codes map to CloudStack's ApiErrorCode and CSExceptionErrorCode pairs", () => {
  assert.deepEqual(csCodes('CLOUDSTACK_UNKNOWN_COMMAND', 432), [432, 9999]);
  assert.deepEqual(csCodes('CLOUDSTACK_MISSING_PARAMETER', 431), [431, 9999]);
  assert.deepEqual(csCodes('INVALID_ARGUMENT', 400), [431, 4350]);
  assert.deepEqual(csCodes('NOT_FOUND', 404), [431, 4350]);
  assert.deepEqual(csCodes('AUTH_FORBIDDEN', 403), [531, 4365]);
  assert.deepEqual(csCodes('CONFLICT', 409), [530, 4300]);
  assert.deepEqual(csCodes('STORAGE_IN_USE', 409), [536, 4375]);
  assert.deepEqual(csCodes('STORAGE_IOPS_EXHAUSTED', 409), [533, 4340]);
  assert.deepEqual(csCodes('RESOURCE_LIMIT_EXCEEDED', 409), [535, 4370]);
  assert.deepEqual(csCodes('STORAGE_CAPACITY_EXHAUSTED', 507), [533, 4340]);
  assert.deepEqual(csCodes('UNAVAILABLE', 503), [534, 4380]);
  assert.deepEqual(csCodes('TIMEOUT', 504), [530, 4560]);
  assert.deepEqual(csCodes('INTERNAL', 500), [530, 4250]);
  assert.deepEqual(csCodes('DISK_NOT_ATTACHED', 409), [431, 4350]);
  // createVMSnapshot's refusals, as CloudStack raises them (the limit is a CloudRuntimeException there)
  assert.deepEqual(csCodes('VM_SNAPSHOT_LIMIT', 409), [530, 4250]);
  assert.deepEqual(csCodes('VM_SNAPSHOT_NAME_TAKEN', 409), [431, 4350]);
  assert.deepEqual(csCodes('MEMORY_SNAPSHOT_NEEDS_RUNNING_VM', 409), [431, 4350]);
  assert.deepEqual(csCodes('VM_STATE_INVALID', 409), [431, 4350]);
  assert.deepEqual(csCodes('SNAPSHOT_STRATEGY_MISSING', 409), [431, 4350]);
});

void test('anything thrown that is not a StrataError is an internal error; its text stays in the log', () => {
  const e = toCsError(new Error('boom'));
  assert.equal(e.errorcode, 530);
  assert.equal(e.stratacode, 'INTERNAL');
  assert.doesNotMatch(e.errortext, /boom/);
});
