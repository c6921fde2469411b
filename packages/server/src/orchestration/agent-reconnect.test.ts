import { isStrataError, StrataError } from '@strata/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentPort } from './agent-port.js';
import { reconnectGraceMs, waitingForReconnect } from './agent-reconnect.js';

/** A port that fails the first `failures` sends with the given reason, then answers. */
function flaky(failures: number, reason: string): AgentPort & { calls: number } {
  const port = {
    calls: 0,
    send() {
      port.calls++;
      if (port.calls <= failures)
        return Promise.reject(new StrataError('UNAVAILABLE', { what: 'agent of host h', reason }));
      return Promise.resolve({ ok: true });
    },
  };
  return port as unknown as AgentPort & { calls: number };
}

void test('a command to an agent that is not connected waits for it and then runs', async () => {
  const port = flaky(3, 'not connected');
  const agent = waitingForReconnect(port, 5_000, 10);
  assert.deepEqual(await agent.send('h', 'agent.ping', {}), { ok: true });
  assert.equal(port.calls, 4);
});

void test('a command whose connection dropped after sending fails at once: it may have run', async () => {
  const port = flaky(1, 'connection closed');
  const agent = waitingForReconnect(port, 5_000, 10);
  await assert.rejects(agent.send('h', 'agent.ping', {}), (e: unknown) => isStrataError(e, 'UNAVAILABLE'));
  assert.equal(port.calls, 1);
});

void test('past the grace period the UNAVAILABLE error comes through', async () => {
  const port = flaky(1_000, 'not connected');
  const agent = waitingForReconnect(port, 50, 10);
  await assert.rejects(agent.send('h', 'agent.ping', {}), (e: unknown) => isStrataError(e, 'UNAVAILABLE'));
  assert.ok(port.calls > 1 && port.calls < 1_000);
});

void test('the grace is 90 s unless the operator sets STRATA_AGENT_RECONNECT_GRACE_MS within bounds', () => {
  assert.equal(reconnectGraceMs({}), 90_000);
  assert.equal(reconnectGraceMs({ STRATA_AGENT_RECONNECT_GRACE_MS: '15000' }), 15_000);
  for (const bad of ['999', '600001', 'soon', '-1'])
    assert.throws(
      () => reconnectGraceMs({ STRATA_AGENT_RECONNECT_GRACE_MS: bad }),
      (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'),
      bad,
    );
});
