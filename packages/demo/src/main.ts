#!/usr/bin/env node
import { join } from 'node:path';
import { DEMO_POOL } from '@strata/testing';
import { runDemo } from './demo.js';

/** `strata-demo`: brings Strata up on this machine and runs its main job (README, first command). */
const repo = new URL('../../../', import.meta.url).pathname;
const log = (line: string) => process.stdout.write(`strata-demo: ${line}\n`);

runDemo({
  root: process.env['STRATA_HOME'] ?? join(repo, 'var'),
  port: Number(process.env['STRATA_PORT'] ?? 8080),
  agentPort: Number(process.env['STRATA_AGENT_PORT'] ?? 8843),
  detached: true,
  // its own Ceph pool: the test suite's images never show up among the demo's orphans
  cephPool: DEMO_POOL,
  log,
}).then(
  (run) => {
    for (const v of run.verdicts) log(`${v.ok ? 'ok  ' : 'FAIL'} ${v.check}`);
    log(
      `Strata keeps running: API ${run.url} (OpenAPI at ${run.url}/openapi.json); admin credentials in var/server/admin-credentials.json`,
    );
    process.exit(run.verdicts.every((v) => v.ok) ? 0 : 1);
  },
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
