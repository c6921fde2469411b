#!/usr/bin/env node
// A real agent process with scripted handlers, for the channel's integration tests: the same
// AgentChannel and config as main.ts, but its state report is read from STRATA_FIXTURE_REPORT (a
// JSON file the test rewrites) and `vm.start` never finishes (to exercise timeouts). It has the
// real file commands (they need no libvirt). Not shipped.
import { readFile } from 'node:fs/promises';
import { emptyStateReport, type AgentStateReport, type StrataError } from '@strata/core';
import { AgentChannel } from './agent-channel.js';
import { readBasicHostFacts } from './basic-host.js';
import { credentialsPath, loadAgentConfig, servedDirs } from './config.js';
import { fileHandlers } from './file-handlers.js';

async function report(): Promise<AgentStateReport> {
  const file = process.env['STRATA_FIXTURE_REPORT'];
  if (!file) return emptyStateReport();
  return { ...(JSON.parse(await readFile(file, 'utf8')) as AgentStateReport), at: new Date().toISOString() };
}

const config = await loadAgentConfig(undefined);
const hostname = process.env['STRATA_FIXTURE_HOSTNAME'];
const channel = new AgentChannel({
  url: config.serverUrl,
  fingerprint: config.serverFingerprint,
  credentialsFile: credentialsPath(config),
  ...(config.registrationToken ? { registrationToken: config.registrationToken } : {}),
  facts: async () => ({
    ...(await readBasicHostFacts()),
    poolDirs: config.poolDirs,
    ...(config.snapshotStore && { snapshotStore: config.snapshotStore }),
    ...(hostname ? { hostname } : {}),
  }),
  report,
  backoff: { initialMs: 100, maxMs: 500 },
  handlers: {
    ...fileHandlers(servedDirs(config)),
    'agent.ping': () => ({
      at: new Date().toISOString(),
      pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000),
    }),
    'host.report': report,
    'vm.state': async ({ vm }) => {
      const found = (await report()).domains.find((d) => d.name === vm);
      return found ?? { name: vm, uuid: '', state: 'unknown', disks: [] };
    },
    'vm.start': (_params, ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
      ),
  },
});
channel.on('connected', (hostId: string) => {
  process.stdout.write(`${JSON.stringify({ connected: hostId })}\n`);
  channel.emitEvent('vm.lifecycle', { vm: 'fixture', event: 'Connected', detail: `pid ${process.pid}` });
});
channel.on('fatal', (error: StrataError) => {
  process.stderr.write(`${JSON.stringify({ fatal: error.toJSON() })}\n`);
  process.exitCode = 78;
});
process.once('SIGTERM', () => void channel.stop().then(() => process.exit(0)));
channel.start();
