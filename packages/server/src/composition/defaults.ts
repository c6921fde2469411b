import { cloudStackExtension } from '../cloudstack/extension.js';
import { consoleExtension } from '../console/static-files.js';
import type { ServerExtension } from '../server.js';
import { agentsExtension, type AgentsOptions } from './agents-extension.js';
import { orchestrationExtension } from './orchestration-extension.js';
import { orphansExtension } from './orphans-extension.js';
import { iopsExtension } from './iops-extension.js';
import type { SnapshotStrategies } from '../vmsnapshots/strategy/index.js';

/** The full server: agent channel, orchestration jobs over it, the orphan collector, volumes' IOPS, the CloudStack API and the web console. */
export function defaultExtensions(
  options: {
    readonly agents?: AgentsOptions;
    readonly stateDir?: string;
    /** The VM-snapshot strategies; default the built-ins. */
    readonly strategies?: SnapshotStrategies;
  } = {},
): ServerExtension[] {
  const agents = agentsExtension(options.agents);
  return [
    agents,
    orchestrationExtension({
      agent: () => agents.hub(),
      ...(options.stateDir && { stateDir: options.stateDir }),
      ...(options.strategies && { strategies: options.strategies }),
    }),
    orphansExtension(),
    iopsExtension(),
    cloudStackExtension(),
    consoleExtension(),
  ];
}
