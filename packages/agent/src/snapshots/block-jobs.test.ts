import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobInfo } from './block-jobs.js';

void test('blockjob --info parses to a percentage, or undefined when no job runs', () => {
  assert.equal(parseJobInfo('Active Block Commit: [100 %]\n'), 100);
  assert.equal(parseJobInfo('Block Pull: [ 42.5 %]'), 42.5);
  assert.equal(parseJobInfo('No current block job for vdb'), undefined);
  assert.equal(parseJobInfo('\n'), undefined, 'virsh -q prints nothing when no job runs');
});
