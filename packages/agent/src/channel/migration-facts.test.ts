import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationFacts } from './migration-facts.js';

test('a host names how others reach it for migration, or takes none', () => {
  assert.equal(migrationFacts({}), undefined);
  assert.deepEqual(migrationFacts({ STRATA_AGENT_MIGRATION_URI: 'qemu+tls://b.example/system' }), {
    uri: 'qemu+tls://b.example/system',
  });
  assert.deepEqual(
    migrationFacts({
      STRATA_AGENT_MIGRATION_URI: 'qemu+unix:///system?socket=/var/tmp/h2/run/libvirt-sock',
      STRATA_AGENT_MIGRATION_DATA_URI: 'tcp://127.0.0.1',
    }),
    { uri: 'qemu+unix:///system?socket=/var/tmp/h2/run/libvirt-sock', dataUri: 'tcp://127.0.0.1' },
  );
});

test('bad migration settings are refused with the setting named', () => {
  for (const env of [
    { STRATA_AGENT_MIGRATION_URI: 'http://b/system' },
    { STRATA_AGENT_MIGRATION_URI: 'qemu+tls://b/session' },
    { STRATA_AGENT_MIGRATION_DATA_URI: 'tcp://127.0.0.1' },
    { STRATA_AGENT_MIGRATION_URI: 'qemu+tls://b/system', STRATA_AGENT_MIGRATION_DATA_URI: 'udp://x' },
  ])
    assert.throws(() => migrationFacts(env), { code: 'INVALID_ARGUMENT' }, JSON.stringify(env));
});
