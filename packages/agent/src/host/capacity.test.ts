import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError, type HostFacts } from '@strata/core';
import { reportedCapacity, withCapacity } from './capacity.js';

const GiB = 1024 ** 3;
const machine = { cpus: 2, memoryBytes: 24 * GiB };

const refusedFor = (field: string, setting: RegExp) => (e: unknown) =>
  isStrataError(e, 'INVALID_ARGUMENT') &&
  e.params['field'] === field &&
  setting.test(String(e.params['reason'])) &&
  /from 1 to this machine's/.test(String(e.params['reason']));

test('capacity: none told reports the machine; each setting alone overrides its own field', () => {
  assert.deepEqual(reportedCapacity({}, {}, machine), {});
  assert.deepEqual(reportedCapacity({ STRATA_AGENT_CPUS: '1' }, {}, machine), { cpus: 1 });
  assert.deepEqual(reportedCapacity({ STRATA_AGENT_MEMORY_BYTES: String(GiB) }, {}, machine), {
    memoryBytes: GiB,
  });
  // the machine's own size is allowed; the environment wins over the file
  assert.deepEqual(reportedCapacity({ STRATA_AGENT_CPUS: '2' }, { cpus: 1, memoryBytes: 2 * GiB }, machine), {
    cpus: 2,
    memoryBytes: 2 * GiB,
  });
  assert.deepEqual(reportedCapacity({ STRATA_AGENT_CPUS: '' }, {}, machine), {}, 'empty is unset');
});

test('capacity: not a positive whole number, or more than the machine has, is a coded error naming it', () => {
  for (const bad of ['0', '-1', '1.5', '2e0', '0x1', ' 1', 'two', '3', '99999999999999999999']) {
    assert.throws(
      () => reportedCapacity({ STRATA_AGENT_CPUS: bad }, {}, machine),
      refusedFor('cpus', /STRATA_AGENT_CPUS/),
      bad,
    );
  }
  assert.throws(
    () => reportedCapacity({ STRATA_AGENT_MEMORY_BYTES: String(25 * GiB) }, {}, machine),
    refusedFor('memoryBytes', /STRATA_AGENT_MEMORY_BYTES/),
  );
  for (const bad of ['2', 1.5, 0, null, true]) {
    assert.throws(
      () => reportedCapacity({}, { cpus: bad }, machine),
      refusedFor('cpus', /config file/),
      String(bad),
    );
  }
});

test('capacity: the facts report the told size and keep everything else', () => {
  const facts = {
    hostname: 'kvm-a',
    cpus: 2,
    memoryBytes: 24 * GiB,
    iscsiInitiator: 'iqn.x',
  } as unknown as HostFacts;
  assert.deepEqual(withCapacity(facts, { memoryBytes: GiB }), { ...facts, memoryBytes: GiB });
  assert.deepEqual(withCapacity(facts, {}), facts);
});
