import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from './client.js';
import { configPath, DEFAULT_ENDPOINT, resolveProfile, type ConfigFile } from './config.js';

const config: ConfigFile = {
  currentProfile: 'lab',
  profiles: {
    default: { endpoint: 'http://a:8080', apiKey: 'ka', secretKey: 'sa' },
    lab: { endpoint: 'http://lab:8080/', apiKey: 'kl', secretKey: 'sl' },
  },
};

void test('the file path: STRATA_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
  assert.equal(configPath({ STRATA_CONFIG: '/x/c.json', HOME: '/h' }), '/x/c.json');
  assert.equal(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/xdg/strata/config.json');
  assert.equal(configPath({ HOME: '/h' }), '/h/.config/strata/config.json');
});

void test('flags win over the environment, which wins over the profile; the current profile is the default', () => {
  assert.deepEqual(resolveProfile(config, {}, {}), {
    name: 'lab',
    endpoint: 'http://lab:8080',
    apiKey: 'kl',
    secretKey: 'sl',
  });
  assert.equal(resolveProfile(config, { profile: 'default' }, {}).apiKey, 'ka');
  assert.equal(resolveProfile(config, {}, { STRATA_PROFILE: 'default' }).endpoint, 'http://a:8080');
  assert.equal(resolveProfile(config, {}, { STRATA_API_KEY: 'env' }).apiKey, 'env');
  assert.equal(resolveProfile(config, { apiKey: 'flag' }, { STRATA_API_KEY: 'env' }).apiKey, 'flag');
  assert.equal(resolveProfile({ profiles: {} }, {}, {}).endpoint, DEFAULT_ENDPOINT);
});

void test('a named profile that does not exist is an error, unless an endpoint is given', () => {
  assert.throws(
    () => resolveProfile(config, { profile: 'nope' }, {}),
    (e: unknown) =>
      e instanceof CliError && e.code === 'PROFILE_NOT_FOUND' && /no profile "nope"/.test(e.message),
  );
  assert.equal(resolveProfile(config, { profile: 'nope', endpoint: 'http://e' }, {}).endpoint, 'http://e');
});

void test('a current profile the file lacks is named in the error, not replaced by "default"', () => {
  const gone: ConfigFile = { currentProfile: 'gone', profiles: {} };
  assert.throws(
    () => resolveProfile(gone, {}, {}),
    (e: unknown) => e instanceof CliError && e.code === 'PROFILE_NOT_FOUND' && /"gone"/.test(e.message),
  );
  assert.equal(resolveProfile(gone, {}, { STRATA_ENDPOINT: 'http://e' }).endpoint, 'http://e');
});
