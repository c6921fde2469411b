import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { checkPathText, checkReadPath, fileRoots } from './roots.js';

const served = fileRoots(['/var/lib/strata/state', '/srv/pool "a" $x;<>/', '/srv/pool "a" $x;<>']);
const refused = (f: () => unknown) => assert.throws(f, (e) => isStrataError(e, 'FILE_PATH_REFUSED'));

test('roots are normalized once, and / or a relative root is a bad config', () => {
  assert.deepEqual(served.roots, ['/var/lib/strata/state', '/srv/pool "a" $x;<>']);
  for (const bad of ['/', 'relative', '/a/../b', '/a//b', ''])
    assert.throws(
      () => fileRoots([bad]),
      (e) => isStrataError(e, 'INVALID_ARGUMENT'),
    );
});

test('a file strictly under a served root passes, with any character in its name', () => {
  const name = `/srv/pool "a" $x;<>/vol-1.snap 'q' $(rm -rf) ;<b>.qcow2`;
  assert.equal(checkPathText(served, name), '/srv/pool "a" $x;<>');
  assert.equal(checkPathText(served, '/var/lib/strata/state/vm.s.memory'), '/var/lib/strata/state');
});

test('paths outside, escaping with .., not normalized, relative or not strings are refused', () => {
  for (const p of [
    '/etc/passwd',
    '/var/lib/strata/state/../../../etc/passwd',
    '/var/lib/strata/state/./x',
    '/var/lib/strata/state//x',
    '/var/lib/strata/state/x/',
    'var/lib/strata/state/x',
    '/var/lib/strata/statex/y',
    '/var/lib/strata/state',
    '/var/lib/strata/state/a\0b',
    '',
    42,
    null,
  ])
    refused(() => checkPathText(served, p));
});

test('a listing may name a root itself; a read-only backing may be anywhere but must be normalized', () => {
  assert.equal(checkPathText(served, '/var/lib/strata/state', true), '/var/lib/strata/state');
  refused(() => checkPathText(served, '/var/lib', true));
  assert.equal(checkReadPath('/var/tmp/templates/base.qcow2'), '/var/tmp/templates/base.qcow2');
  for (const p of ['base.qcow2', '/a/../b', '/a/b/', 7]) refused(() => checkReadPath(p));
});
