import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';

void test('the secrets key file: flag over environment over DATA_DIR/secrets.key, always absolute', () => {
  assert.equal(loadConfig([], { STRATA_DATA_DIR: '/tmp/sd' }).secretsKeyFile, '/tmp/sd/secrets.key');
  const shared = { STRATA_DATA_DIR: '/tmp/sd', STRATA_SECRETS_KEY_FILE: '/etc/strata/secrets.key' };
  assert.equal(loadConfig([], shared).secretsKeyFile, '/etc/strata/secrets.key');
  assert.equal(
    loadConfig(['--secrets-key-file', '/srv/k'], shared).secretsKeyFile,
    '/srv/k',
    'the flag wins over the environment',
  );
  assert.match(loadConfig(['--secrets-key-file', 'rel.key'], {}).secretsKeyFile ?? '', /^\/.*\/rel\.key$/);
});

void test('audit retention: flag over environment over 90 days; 0 keeps all; not a count refuses the start', () => {
  assert.equal(loadConfig([], {}).auditRetentionDays, 90);
  assert.equal(loadConfig([], { STRATA_AUDIT_RETENTION_DAYS: '30' }).auditRetentionDays, 30);
  assert.equal(
    loadConfig(['--audit-retention-days', '0'], { STRATA_AUDIT_RETENTION_DAYS: '30' }).auditRetentionDays,
    0,
  );
  for (const bad of ['-1', '1.5', 'ninety', ''])
    assert.throws(() => loadConfig([`--audit-retention-days=${bad}`], {}), { code: 'INVALID_ARGUMENT' }, bad);
});

void test('VM expunge delay: flag over environment over 24 h; 0 expunges at the next sweep; not a count refuses the start', () => {
  assert.equal(loadConfig([], {}).vmExpungeDelaySeconds, 86_400);
  assert.equal(loadConfig([], { STRATA_VM_EXPUNGE_DELAY: '600' }).vmExpungeDelaySeconds, 600);
  assert.equal(
    loadConfig(['--vm-expunge-delay', '0'], { STRATA_VM_EXPUNGE_DELAY: '600' }).vmExpungeDelaySeconds,
    0,
  );
  for (const bad of ['-1', '2.5', '1h', ''])
    assert.throws(() => loadConfig([`--vm-expunge-delay=${bad}`], {}), { code: 'INVALID_ARGUMENT' }, bad);
});
