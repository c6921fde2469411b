import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderCephConf } from './config.js';

void test('the Ceph conf holds the settings a single node needs to reach HEALTH_OK fast', () => {
  const conf = renderCephConf({ dir: '/d', fsid: 'f', osdBytes: 1024 });
  for (const line of [
    'mon host = v2:127.0.0.1:3300',
    'paxos propose interval = 0.05',
    'auth allow insecure global id reclaim = false',
    'mon warn on insecure global id reclaim = false',
    'mon warn on insecure global id reclaim allowed = false',
    'osd pool default size = 1',
    'mon allow pool size one = true',
    'osd pool default pg autoscale mode = off',
    'rbd default clone format = 2',
    'bluestore block size = 1024',
  ]) {
    assert.ok(conf.includes(line), `missing: ${line}`);
  }
});

void test('only daemons get admin sockets and log files: parallel clients must not collide', () => {
  const conf = renderCephConf({ dir: '/d', fsid: 'f', osdBytes: 1024 });
  const globalSection = conf.split('\n\n')[0] ?? '';
  assert.ok(!/admin socket|log file/.test(globalSection));
  assert.ok(/\[mon\]\n[^[]*admin socket = \/d\/run\/\$name\.asok/.test(conf));
});

void test('the Ceph conf never names the admin keyring', () => {
  const conf = renderCephConf({ dir: '/d', fsid: 'f', osdBytes: 1024 });
  assert.ok(!conf.includes('admin.keyring'));
  const globalSection = conf.split('\n\n')[0] ?? '';
  assert.ok(!/^keyring/m.test(globalSection));
});
