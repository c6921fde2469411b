import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '@strata/core';
import { missingTags, storageTagsOf } from './storage-tags.js';

void test('storage tags: split on commas, trimmed, unique and sorted; bad ones refused with a coded error', () => {
  assert.deepEqual(storageTagsOf('tags', ' ssd,gold,,ssd '), ['gold', 'ssd']);
  assert.deepEqual(storageTagsOf('tags', ['b "q" <x>', 'a']), ['a', 'b "q" <x>']);
  assert.deepEqual(storageTagsOf('tags', []), []);
  for (const bad of [['a,b'], ['x\u0001'], 'y'.repeat(65), 7, [3]])
    assert.throws(
      () => storageTagsOf('tags', bad),
      (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'),
      JSON.stringify(bad),
    );
  assert.deepEqual(missingTags(['gold', 'ssd'], ['ssd']), ['gold']);
});
