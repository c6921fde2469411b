import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError } from '@strata/core';
import { toCsError } from '../cloudstack/errors.js';
import { fromDatabaseError } from './database-errors.js';
import { toApiError } from './errors.js';

// Database errors that escape a service are answered without their text (docs/security.md).

const pg = (code: string, message: string) =>
  Object.assign(new Error(message), { code, severity: 'ERROR', constraint: 'vms_account_id_fkey' });
const fk = pg(
  '23503',
  'insert or update on table "vms" violates foreign key constraint "vms_account_id_fkey"',
);

void test('a database error becomes a registry error without the database text', () => {
  const cases: Array<[Error, string, number]> = [
    [fk, 'INVALID_ARGUMENT', 400],
    [pg('23505', 'duplicate key value violates unique constraint "zones_name_key"'), 'CONFLICT', 409],
    [pg('22003', 'value "99999999999" is out of range for type integer'), 'INVALID_ARGUMENT', 400],
    [pg('42P01', 'relation "nope" does not exist'), 'INTERNAL', 500],
  ];
  for (const [e, code, status] of cases) {
    const err = toApiError(e);
    assert.deepEqual([err.code, err.status], [code, status], e.message);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /vms|zones|relation|constraint|type integer/);
    const cs = toCsError(e);
    assert.equal(cs.stratacode, code);
    assert.doesNotMatch(cs.errortext, /vms|zones|relation|constraint|type integer/);
  }
});

void test('other errors: a registry error passes as it is; anything else is INTERNAL without its text', () => {
  assert.equal(fromDatabaseError(new Error('x')), null);
  assert.equal(fromDatabaseError({ code: 'ECONNRESET' }), null);
  const mine = new StrataError('NOT_FOUND', { kind: 'account', id: 'a' });
  assert.equal(toApiError(mine), mine);
  const internal = toApiError(new TypeError("Cannot read properties of undefined (reading 'secret')"));
  assert.equal(internal.code, 'INTERNAL');
  assert.doesNotMatch(internal.message, /secret|undefined/);
  assert.doesNotMatch(toCsError(new TypeError('boom at row 3')).errortext, /boom/);
});
