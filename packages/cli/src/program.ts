import { Command, Option } from 'commander';
import { accounts, apiKeys, audit, events, users, whoami } from './commands/admin.js';
import { offerings, templates } from './commands/catalog.js';
import { completionCommand } from './commands/completion.js';
import { vms } from './commands/compute.js';
import { configCommand } from './commands/config.js';
import { clusters, hosts, pools, zones } from './commands/infra.js';
import { jobs } from './commands/jobs.js';
import { orphans } from './commands/orphans.js';
import { schedules } from './commands/schedules.js';
import { secrets } from './commands/secrets.js';
import { volumeSnapshots, volumes } from './commands/storage.js';
import { tags } from './commands/tags.js';
import { vmSnapshots } from './commands/vm-snapshots.js';

export const VERSION = '0.1.0';

/** The whole `strata` command tree. */
export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Strata: storage control plane for KVM clouds (talks to the REST API, /v1)')
    .version(VERSION)
    .option('-p, --profile <name>', 'config profile (STRATA_PROFILE)')
    .option('--endpoint <url>', 'server URL, overrides the profile (STRATA_ENDPOINT)')
    .option('--api-key <key>', 'API key, overrides the profile (STRATA_API_KEY)')
    .option('--secret-key <secret>', 'secret key (prefer STRATA_SECRET_KEY or the config file)')
    .addOption(
      new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'),
    )
    .option('--no-wait', 'return at once with the job instead of waiting for it')
    .option('--no-progress', 'no progress bar while waiting')
    .option('--timeout <seconds>', 'longest wait for a job', '1800')
    .showHelpAfterError()
    .enablePositionalOptions(false);
  for (const c of [
    zones(),
    clusters(),
    hosts(),
    pools(),
    offerings(),
    templates(),
    vms(),
    volumes(),
    volumeSnapshots(),
    vmSnapshots(),
    tags(),
    schedules(),
    jobs(),
    orphans(),
    events(),
    accounts(),
    users(),
    apiKeys(),
    audit(),
    secrets(),
    whoami(),
    configCommand(),
    completionCommand(() => program),
  ]) {
    program.addCommand(c);
  }
  return program;
}

/** Runs the CLI on an argv (without node and the script); resolves with the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
