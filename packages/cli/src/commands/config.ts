import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { reportError } from '../context.js';
import { configPath, loadConfig, saveConfig, type ConfigFile, type Profile } from '../config.js';

const mask = (s: string | undefined) => (s ? `${s.slice(0, 4)}…(${s.length} chars)` : undefined);

function run(fn: (path: string, config: ConfigFile) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async () => {
    const path = configPath();
    try {
      await fn(path, await loadConfig(path));
    } catch (e) {
      process.exitCode = reportError(e, false);
    }
  };
}

async function upsert(
  path: string,
  config: ConfigFile,
  name: string,
  patch: Partial<Profile>,
  use: boolean,
): Promise<void> {
  const old = config.profiles[name];
  const endpoint = patch.endpoint ?? old?.endpoint;
  if (!endpoint) throw new Error(`profile "${name}" needs --endpoint`);
  const profile: Profile = { ...old, ...patch, endpoint };
  await saveConfig(path, {
    ...config,
    ...(use || !config.currentProfile ? { currentProfile: name } : {}),
    profiles: { ...config.profiles, [name]: profile },
  });
  process.stdout.write(`profile ${name} saved in ${path}\n`);
}

export function configCommand(): Command {
  const cmd = new Command('config').description(
    `endpoints and keys, by profile (file: $STRATA_CONFIG or ~/.config/strata/config.json)`,
  );
  // --endpoint, --api-key and --secret-key are strata's global options: read through optsWithGlobals.
  cmd
    .command('set-profile')
    .description('create or change a profile from --endpoint, --api-key and --secret-key')
    .argument('<name>')
    .option('--use', 'make it the current profile')
    .action(async (name: string, _o: unknown, c: Command) => {
      const o = c.optsWithGlobals<{
        endpoint?: string;
        apiKey?: string;
        secretKey?: string;
        use?: boolean;
      }>();
      await run((path, config) =>
        upsert(
          path,
          config,
          name,
          {
            ...(o.endpoint ? { endpoint: o.endpoint.replace(/\/+$/, '') } : {}),
            ...(o.apiKey ? { apiKey: o.apiKey } : {}),
            ...(o.secretKey ? { secretKey: o.secretKey } : {}),
          },
          Boolean(o.use),
        ),
      )();
    });
  cmd
    .command('import-credentials')
    .description("make a profile from a server's admin-credentials.json and --endpoint")
    .argument('<file>')
    .option('--name <profile>', 'profile name', 'default')
    .action(async (file: string, _o: unknown, c: Command) => {
      const o = c.optsWithGlobals<{ endpoint?: string; name: string }>();
      await run(async (path, config) => {
        if (!o.endpoint) throw new Error('give the server URL with --endpoint');
        const creds = JSON.parse(await readFile(file, 'utf8')) as { apiKey?: string; secretKey?: string };
        if (!creds.apiKey || !creds.secretKey) throw new Error(`${file} has no apiKey and secretKey`);
        await upsert(
          path,
          config,
          o.name,
          { endpoint: o.endpoint.replace(/\/+$/, ''), apiKey: creds.apiKey, secretKey: creds.secretKey },
          true,
        );
      })();
    });
  cmd
    .command('use')
    .description('make a profile the current one')
    .argument('<name>')
    .action(async (name: string) =>
      run(async (path, config) => {
        if (!config.profiles[name]) throw new Error(`no profile "${name}" in ${path}`);
        await saveConfig(path, { ...config, currentProfile: name });
        process.stdout.write(`using profile ${name}\n`);
      })(),
    );
  cmd
    .command('show')
    .description('show the profiles (secrets masked)')
    .action(() =>
      run((path, config) => {
        const profiles = Object.fromEntries(
          Object.entries(config.profiles).map(([n, p]) => [n, { ...p, secretKey: mask(p.secretKey) }]),
        );
        process.stdout.write(
          JSON.stringify({ path, currentProfile: config.currentProfile ?? null, profiles }, null, 2) + '\n',
        );
        return Promise.resolve();
      })(),
    );
  cmd
    .command('path')
    .description('print the config file path')
    .action(() => {
      process.stdout.write(configPath() + '\n');
    });
  return cmd;
}
