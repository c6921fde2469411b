import type { CommandHandlers } from './dispatcher.js';
import { readBasicHostFacts, readBasicStateReport } from './basic-host.js';

const startedAt = Date.now();

/** The commands the channel answers by itself; the KVM core's handlers are merged over these. */
export function basicHandlers(): CommandHandlers {
  return {
    'agent.ping': () => ({
      at: new Date().toISOString(),
      pid: process.pid,
      uptimeMs: Date.now() - startedAt,
    }),
    'host.facts': () => readBasicHostFacts(),
    'host.report': () => readBasicStateReport(),
    'vm.list': async () => ({ domains: (await readBasicStateReport()).domains }),
  };
}
