import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRole, managementRefusal, type Member } from './roles.js';

const operator: Member = { role: 'admin', accountId: 'ops', userId: 'u-op' };
const acctAdmin: Member = { role: 'account-admin', accountId: 'a', userId: 'u-aa' };
const user: Member = { role: 'user', accountId: 'a', userId: 'u-1' };
const peer: Member = { role: 'user', accountId: 'a', userId: 'u-2' };
const stranger: Member = { role: 'user', accountId: 'b', userId: 'u-3' };
const opInA: Member = { role: 'admin', accountId: 'a', userId: 'u-op2' };

test('an operator manages anyone and grants any role', () => {
  assert.equal(managementRefusal(operator, stranger, { action: 'x', grant: 'admin' }), null);
  assert.equal(managementRefusal(operator, opInA, { action: 'x', grant: 'user' }), null);
});

test('an account admin manages its own account below operator, and grants up to account admin', () => {
  assert.equal(managementRefusal(acctAdmin, user, { action: 'x', grant: 'account-admin' }), null);
  assert.equal(managementRefusal(acctAdmin, user, { action: 'x' }), null);
  assert.deepEqual(managementRefusal(acctAdmin, user, { action: 'Granting', grant: 'admin' }), {
    reason: 'needs-role',
    role: 'admin',
    action: 'Granting',
  });
  assert.deepEqual(managementRefusal(acctAdmin, opInA, { action: 'Demoting', grant: 'user' }), {
    reason: 'needs-role',
    role: 'admin',
    action: 'Demoting',
  });
  assert.deepEqual(managementRefusal(acctAdmin, stranger, { action: 'x' }), { reason: 'another-account' });
});

test('a user manages nobody, its own keys excepted', () => {
  assert.equal(managementRefusal(user, user, { action: 'x', ownKeys: true }), null);
  assert.deepEqual(managementRefusal(user, peer, { action: 'Issuing a key', ownKeys: true }), {
    reason: 'needs-role',
    role: 'account-admin',
    action: 'Issuing a key',
  });
  assert.deepEqual(managementRefusal(user, user, { action: 'Changing a role', grant: 'account-admin' }), {
    reason: 'needs-role',
    role: 'account-admin',
    action: 'Changing a role',
  });
  assert.deepEqual(managementRefusal(user, stranger, { action: 'x', ownKeys: true }), {
    reason: 'another-account',
  });
});

test('a key-less actor (userId null) is never taken for the target user', () => {
  const system: Member = { role: 'user', accountId: 'a', userId: null };
  const noId: Member = { role: 'user', accountId: 'a', userId: null };
  assert.equal(managementRefusal(system, noId, { action: 'x', ownKeys: true })?.reason, 'needs-role');
});

test('isRole accepts the three roles only', () => {
  assert.ok(isRole('admin') && isRole('account-admin') && isRole('user'));
  assert.ok(!isRole('operator') && !isRole('') && !isRole(1));
});
