import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIoTune } from './iotune.js';

void test('blkdeviotune output parses; zero limits are absent', () => {
  const text =
    'total_bytes_sec: 0\nread_bytes_sec : 0\ntotal_iops_sec : 200\ntotal_iops_sec_max: 400\ntotal_iops_sec_max_length: 10\ngroup_name     : drive-virtio-disk1\n';
  assert.deepEqual(parseIoTune(text), { totalIopsSec: 200, totalIopsSecMax: 400, totalIopsSecMaxLength: 10 });
  assert.deepEqual(parseIoTune('total_iops_sec: 0\n'), { totalIopsSec: 0 });
});
