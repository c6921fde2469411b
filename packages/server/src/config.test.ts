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
