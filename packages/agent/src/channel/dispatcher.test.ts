import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError, type RequestMessage } from '@strata/core';
import { backoffDelay } from './backoff.js';
import { dispatch, handledCommands, type CommandHandlers } from './dispatcher.js';

const request = (command: string, timeoutMs = 1_000): RequestMessage => ({
  kind: 'request',
  id: 'id-1',
  command,
  params: { vm: 'a' },
  timeoutMs,
});

test('a handled command answers ok with its result and the request id', async () => {
  const handlers: CommandHandlers = {
    'vm.start': ({ vm }) => ({ state: vm === 'a' ? 'running' : 'unknown' }),
  };
  assert.deepEqual(await dispatch(handlers, request('vm.start')), {
    kind: 'response',
    id: 'id-1',
    ok: true,
    result: { state: 'running' },
  });
  assert.deepEqual(handledCommands(handlers), ['vm.start']);
});

test('an unknown or unhandled command answers AGENT_UNKNOWN_COMMAND', async () => {
  for (const command of ['vm.start', 'no.such']) {
    const r = await dispatch({}, request(command));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'AGENT_UNKNOWN_COMMAND');
  }
});

test('a handler error keeps its code; a handler past the timeout answers TIMEOUT and sees its signal abort', async () => {
  const thrown = await dispatch(
    { 'vm.stop': () => Promise.reject(new StrataError('CONFLICT', { reason: 'busy' })) },
    request('vm.stop'),
  );
  assert.equal(!thrown.ok && thrown.error.code, 'CONFLICT');
  let aborted = false;
  const slow: CommandHandlers = {
    'vm.start': (_p, ctx) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
  };
  const r = await dispatch(slow, request('vm.start', 50));
  assert.equal(!r.ok && r.error.code, 'TIMEOUT');
  assert.ok(aborted);
});

test('back-off doubles up to its cap, with jitter between half and all of it', () => {
  const opts = { initialMs: 100, maxMs: 1_000 };
  assert.equal(
    backoffDelay(0, opts, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, opts, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(10, opts, () => 1),
    1_000,
  );
  assert.equal(
    backoffDelay(10, opts, () => 0),
    500,
  );
});
