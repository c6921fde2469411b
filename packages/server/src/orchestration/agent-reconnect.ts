import { StrataError, isStrataError } from '@strata/core';
import type { AgentPort } from './agent-port.js';

/** How long a command waits for its host's agent to connect (again) before it fails UNAVAILABLE. */
export const RECONNECT_GRACE_MS = 90_000;

/** An operator may set the grace: a whole number of ms in 1,000..600,000. */
export const RECONNECT_GRACE_ENV = 'STRATA_AGENT_RECONNECT_GRACE_MS';

/** The reconnect grace of this server: STRATA_AGENT_RECONNECT_GRACE_MS when set, else 90 s. */
export function reconnectGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[RECONNECT_GRACE_ENV];
  if (raw === undefined || raw === '') return RECONNECT_GRACE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1_000 || ms > 600_000) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: RECONNECT_GRACE_ENV,
      reason: 'a whole number of ms in 1000..600000',
    });
  }
  return ms;
}

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
