import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hintFor } from './hints.js';

test("a coded error's hint is the registry's recovery text; an unknown code has none", () => {
  assert.match(hintFor('REVERT_NEEDS_STOP') ?? '', /\S/);
  assert.equal(hintFor('NO_SUCH_CODE_EVER'), null);
});
