import { isStrataError } from '@strata/core';
import type { AgentPort } from './agent-port.js';

/** How long a command waits for its host's agent to connect (again) before it fails UNAVAILABLE. */
export const RECONNECT_GRACE_MS = 90_000;

const notConnected = (e: unknown): boolean =>
  isStrataError(e, 'UNAVAILABLE') && e.params['reason'] === 'not connected';

/**
 * An AgentPort whose commands wait for an agent that is not connected (a restarted server before
 * its agents are back, an agent restarting): nothing was sent, so trying again is safe. A command
 * whose connection drops after it was sent still fails at once: it may have run.
 */
export function waitingForReconnect(agent: AgentPort, graceMs = RECONNECT_GRACE_MS, pollMs = 250): AgentPort {
  return {
    async send(hostId, command, params, options = {}) {
      const end = Date.now() + graceMs;
      for (;;) {
        try {
          return await agent.send(hostId, command, params, options);
        } catch (e) {
          if (!notConnected(e) || Date.now() >= end || options.signal?.aborted) throw e;
          await new Promise((r) => setTimeout(r, pollMs));
        }
      }
    },
  };
}
