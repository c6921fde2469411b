#!/usr/bin/env node
// The host agent process: `node main.js [--config /etc/strata/agent.json]`. Exit codes: 0 on
// SIGTERM/SIGINT, 78 (EX_CONFIG) for a bad config or when the server refuses in a way retrying
// cannot fix, 1 when the KVM core cannot start (libvirt not answering).
import { parseArgs } from 'node:util';
import { isStrataError, type StrataError } from '@strata/core';
import { AgentChannel } from './agent-channel.js';
import { HostAgent } from '../host-agent.js';
import { basicHandlers } from './basic-handlers.js';
import { credentialsPath, loadAgentConfig, servedDirs } from './config.js';
import { fileHandlers } from './file-handlers.js';
import { forwardKvmEvents, kvmHandlers } from './kvm-handlers.js';
import { PauseGuard } from './pause-guard.js';

function log(level: string, msg: string, fields: object = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const config = await loadAgentConfig(values.config ?? process.env['STRATA_AGENT_CONFIG']);
  // The KVM core first: libvirt must answer and its one event stream must run before we connect.
  const kvm = new HostAgent(config.initiatorFile ? { initiatorFile: config.initiatorFile } : {});
  await kvm.start();
  const pauses = new PauseGuard(kvm.virsh);
  const channel = new AgentChannel({
    url: config.serverUrl,
    fingerprint: config.serverFingerprint,
    credentialsFile: credentialsPath(config),
    ...(config.registrationToken ? { registrationToken: config.registrationToken } : {}),
    facts: () => kvm.hostFacts(),
    report: () => kvm.stateReport(),
    handlers: { ...basicHandlers(), ...fileHandlers(servedDirs(config)), ...kvmHandlers(kvm, pauses) },
  });
  const stopForwarding = forwardKvmEvents(kvm, channel);
  pauses.on('resumed', (r: { vm: string; reason: 'requested' | 'deadline'; pausedForMs: number }) =>
    channel.emitEvent('vm.resumed', r),
  );
  channel.on('connected', (hostId: string) => log('info', 'connected', { hostId }));
  channel.on('disconnected', (reason: string) => log('warn', 'disconnected', { reason }));
  channel.on('reconnecting', (delayMs: number) => log('info', 'reconnecting', { delayMs }));
  channel.on('fatal', (error: StrataError) => {
    log('error', 'refused', { error: error.toJSON() });
    stopForwarding();
    void pauses
      .resumeAll()
      .then(() => kvm.close())
      .finally(() => process.exit(78));
  });
  // Stop: close the channel, then the core (which thaws any guest this agent still holds frozen).
  const shutdown = () => {
    stopForwarding();
    void channel
      .stop()
      .then(() => pauses.resumeAll())
      .then(() => kvm.close())
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
