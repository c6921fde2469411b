#!/usr/bin/env node
// The host agent process: `node main.js [--config /etc/strata/agent.json]`. Exit codes: 0 on
// SIGTERM/SIGINT, 78 (EX_CONFIG) for a bad config or when the server refuses in a way retrying
// cannot fix, 1 when the KVM core cannot start (libvirt not answering). Roles (STRATA_AGENT_ROLES):
// `kvm` runs the KVM core; `storage` serves storage drivers (ADR 0003); a storage-only node needs
// no libvirt.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { emptyStateReport, isStrataError, type HostFacts, type StrataError } from '@strata/core';
import { AgentChannel } from './agent-channel.js';
import { HostAgent } from '../host-agent.js';
import { basicHandlers } from './basic-handlers.js';
import { credentialsPath, loadAgentConfig, servedDirs } from './config.js';
import { fileHandlers } from './file-handlers.js';
import { forwardKvmEvents, kvmHandlers } from './kvm-handlers.js';
import { diskMoveHandlers } from './disk-move-handlers.js';
import { readBasicHostFacts } from './basic-host.js';
import { migrationFacts } from './migration-facts.js';
import { withCapacity } from '../host/capacity.js';
import type { CommandHandlers } from './dispatcher.js';
import { StorageNode } from '../storage/storage-node.js';
import { ServedPools } from '../storage/served-pools.js';
import { builtInDriverFactories } from '../storage/driver-factories.js';
import { storageHandlers } from '../storage/handlers.js';

function log(level: string, msg: string, fields: object = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const config = await loadAgentConfig(values.config ?? process.env['STRATA_AGENT_CONFIG']);
  const storage = config.roles.includes('storage')
    ? new StorageNode(
        { providers: config.storageProviders, poolDirs: config.poolDirs },
        builtInDriverFactories,
        new ServedPools(join(config.stateDir, 'served-pools.json')),
      )
    : null;
  const restored = (await storage?.restore()) ?? [];
  if (restored.length > 0)
    log('info', 'storage drivers built for the pools served before', { pools: restored });
  const migration = migrationFacts();
  const withRoles = (facts: HostFacts): HostFacts => ({
    // a host told to be smaller than its machine reports that size (STRATA_AGENT_CPUS, …)
    ...withCapacity(facts, config.capacity),
    poolDirs: config.poolDirs,
    ...(config.snapshotStore && { snapshotStore: config.snapshotStore }),
    roles: config.roles,
    ...(storage && { storage: storage.facts }),
    ...(migration && kvm && { migration }),
  });
  // The KVM core first: libvirt must answer and its one event stream must run before we connect.
  const kvm = config.roles.includes('kvm')
    ? new HostAgent(config.initiatorFile ? { initiatorFile: config.initiatorFile } : {})
    : null;
  await kvm?.start();
  const facts = async () =>
    withRoles(kvm ? await kvm.hostFacts() : await readBasicHostFacts({ libvirt: false }));
  // A storage-only node runs no domains: its report is always empty.
  const storageOnly: CommandHandlers = {
    'host.report': () => emptyStateReport(),
    'vm.list': () => ({ domains: [] }),
  };
  const channel = new AgentChannel({
    url: config.serverUrl,
    fingerprint: config.serverFingerprint,
    credentialsFile: credentialsPath(config),
    ...(config.registrationToken ? { registrationToken: config.registrationToken } : {}),
    facts,
    report: async () => (kvm ? kvm.stateReport() : emptyStateReport()),
    handlers: {
      ...basicHandlers(),
      // files in the host state directory, the pool directories and the snapshot store it mounts
      ...fileHandlers(servedDirs(config)),
      ...(kvm ? kvmHandlers(kvm) : storageOnly),
      ...(kvm ? diskMoveHandlers(kvm, servedDirs(config)) : {}),
      'host.facts': facts,
      ...(storage ? storageHandlers(storage) : {}),
    },
  });
  const stopForwarding = kvm ? forwardKvmEvents(kvm, channel) : () => undefined;
  kvm?.on('io-error-resumed', (t: object) => log('info', 'guest resumed after an I/O error pause', t));
  channel.on('connected', (hostId: string) => log('info', 'connected', { hostId }));
  channel.on('disconnected', (reason: string) => log('warn', 'disconnected', { reason }));
  channel.on('reconnecting', (delayMs: number) => log('info', 'reconnecting', { delayMs }));
  channel.on('fatal', (error: StrataError) => {
    log('error', 'refused', { error: error.toJSON() });
    stopForwarding();
    void Promise.resolve(kvm?.close())
      .then(() => storage?.close())
      .finally(() => process.exit(78));
  });
  // Stop: close the channel, then the core (which thaws or resumes any guest this agent still holds).
  const shutdown = () => {
    stopForwarding();
    void channel
      .stop()
      .then(() => kvm?.close())
      .then(() => storage?.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  channel.start();
}

main().catch((e: unknown) => {
  log('error', 'agent failed to start', { error: e instanceof Error ? e.message : String(e) });
  // a bad config will not fix itself (78); anything else (libvirt not answering yet) may (1)
  process.exit(isStrataError(e, 'INVALID_ARGUMENT') ? 78 : 1);
});
