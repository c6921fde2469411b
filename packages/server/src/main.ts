#!/usr/bin/env node
import { isStrataError } from '@strata/core';
import { USAGE, loadConfig } from './config.js';
import { defaultExtensions } from './composition/defaults.js';
import { startServer } from './server.js';

/** The process entry: `node packages/server/dist/main.js [--data-dir DIR] [--port N] ...`. */
async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const agentPort = Number(process.env['STRATA_AGENT_PORT'] ?? 8843);
  const server = await startServer(loadConfig(), {
    extensions: defaultExtensions({ agents: { port: agentPort } }),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'stopping');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`strata-server: ${isStrataError(e) ? `${e.code}: ${e.message}` : String(e)}\n`);
  process.exit(1);
});
