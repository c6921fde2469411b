import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentCommandNames, defaultCommandTimeoutsMs, type RequestMessage } from '@strata/core';
import { dispatch, handledCommands } from './dispatcher.js';
import { fileHandlers } from './file-handlers.js';

const request = (command: string, params: object): RequestMessage => ({
  kind: 'request',
  id: 'id-1',
  command,
  params,
  timeoutMs: 5_000,
});

const FILE_COMMANDS = [
  'file.createOverlay',
  'file.remove',
  'file.commit',
  'file.rebase',
  'file.chain',
  'file.list',
  'template.inspect',
];

test('every file command is in the command map, has a timeout, and is handled', () => {
  const handlers = fileHandlers(['/srv/served-root-that-is-not-there']);
  assert.deepEqual(handledCommands(handlers).sort(), [...FILE_COMMANDS].sort());
  for (const c of FILE_COMMANDS) {
    assert.ok((agentCommandNames as readonly string[]).includes(c), c);
    assert.ok(defaultCommandTimeoutsMs[c as keyof typeof defaultCommandTimeoutsMs] > 0, c);
  }
});

test('a path outside the served directories answers FILE_PATH_REFUSED on the wire, touching nothing', async () => {
  const handlers = fileHandlers(['/srv/served-root-that-is-not-there']);
  const cases: Array<[string, object]> = [
    ['file.remove', { path: '/etc/passwd' }],
    ['file.createOverlay', { path: '/srv/served-root-that-is-not-there/../x.qcow2', backing: '/b.qcow2' }],
    ['file.commit', { path: 'relative.qcow2' }],
    ['file.rebase', { path: '/tmp/x.qcow2', format: 'qcow2', backing: '/b', backingFormat: 'qcow2' }],
    ['file.chain', { path: '/srv/served-root-that-is-not-there' }],
    ['file.list', { dir: '/srv' }],
  ];
  for (const [command, params] of cases) {
    const r = await dispatch(handlers, request(command, params));
    assert.equal(r.ok, false, command);
    assert.equal(!r.ok && r.error.code, 'FILE_PATH_REFUSED', command);
  }
});
