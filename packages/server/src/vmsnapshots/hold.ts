import type { ResolvedQuiesce } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';

/** A hold on the guest's I/O for the cut; `release` answers how long it lasted in ms. */
export interface Hold {
  release(): Promise<number>;
}

const noHold: Hold = { release: () => Promise.resolve(0) };

/**
 * guest: fsfreeze through the guest agent, with a deadline the agent enforces on its own (even if
 * this server dies). pause: the vCPUs stop. none and hypervisor: nothing here (hypervisor mode
 * holds the guest only inside the atomic overlay operation).
 */
export async function acquireHold(
  agent: AgentPort,
  target: { readonly hostId: string; readonly vm: string },
  mode: ResolvedQuiesce,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<Hold> {
  if (mode === 'guest') {
    const frozen = await agent.send(target.hostId, 'guest.freeze', { vm: target.vm, deadlineMs }, { signal });
    const startedAt = performance.now() - frozen.freezeMs;
    return {
      async release() {
        const thawed = await agent.send(target.hostId, 'guest.thaw', { vm: target.vm });
        return thawed.frozenForMs > 0 ? thawed.frozenForMs : performance.now() - startedAt;
      },
    };
  }
  if (mode === 'pause') {
    const t0 = performance.now();
    await agent.send(target.hostId, 'vm.pause', { vm: target.vm, deadlineMs }, { signal });
    return {
      async release() {
        const resumed = await agent.send(target.hostId, 'vm.resume', { vm: target.vm });
        return resumed.pausedForMs > 0 ? resumed.pausedForMs : performance.now() - t0;
      },
    };
  }
  return noHold;
}
