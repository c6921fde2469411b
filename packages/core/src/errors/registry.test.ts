import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderErrorDocs } from './docs.js';
import { errorRegistry } from './registry.js';
import { StrataError, toStrataError } from './strata-error.js';

const docsPath = new URL('../../../../docs/errors.md', import.meta.url);

test('docs/errors.md is the rendering of the registry (run npm run docs:errors after a change)', () => {
  assert.equal(readFileSync(docsPath, 'utf8'), renderErrorDocs());
});

test('every code is UPPER_SNAKE with an HTTP status, a message and a recovery rule', () => {
  for (const [code, spec] of errorRegistry) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    assert.ok(spec.message.length > 0 && spec.recovery.length > 0, code);
  }
});

test('a StrataError renders its template and serialises to the API shape', () => {
  const e = new StrataError('NOT_FOUND', { kind: 'volume', id: 'v-1' });
  assert.deepEqual(e.toJSON(), {
    code: 'NOT_FOUND',
    message: 'volume v-1 not found',
    status: 404,
    retryable: false,
    details: { kind: 'volume', id: 'v-1' },
  });
  const wrapped = toStrataError(new Error('boom'));
  assert.equal(wrapped.code, 'INTERNAL');
  assert.equal(wrapped.retryable, true);
});
