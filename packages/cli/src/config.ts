import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './client.js';

/** One server and the credentials to use with it. */
export interface Profile {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly secretKey?: string;
}

/** ~/.config/strata/config.json (or $STRATA_CONFIG): named profiles and the one in use. */
export interface ConfigFile {
  readonly currentProfile?: string;
  readonly profiles: Readonly<Record<string, Profile>>;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';

export function configPath(env: Env = process.env): string {
  if (env['STRATA_CONFIG']) return env['STRATA_CONFIG'];
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'strata', 'config.json');
}

export async function loadConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw e;
  }
  const parsed = JSON.parse(text) as Partial<ConfigFile>;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof parsed.profiles !== 'object' ||
    parsed.profiles === null
  ) {
    throw new Error(`${path} is not a strata config file (it needs a "profiles" object)`);
  }
  return {
    ...(parsed.currentProfile ? { currentProfile: parsed.currentProfile } : {}),
    profiles: parsed.profiles,
  };
}

/** Written 0600: it holds secret keys. */
export async function saveConfig(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
}

export interface Overrides {
  readonly profile?: string;
  readonly endpoint?: string;
  readonly apiKey?: string;
  readonly secretKey?: string;
}

/**
 * The profile to use: command-line flags win, then STRATA_* variables, then the named (or
 * current, or "default") profile of the config file. A profile asked for by name (flag, variable
 * or the file's current one) that the file lacks is PROFILE_NOT_FOUND unless an endpoint is given.
 */
export function resolveProfile(
  config: ConfigFile,
  flags: Overrides,
  env: Env = process.env,
): Profile & { readonly name: string } {
  const asked = flags.profile ?? env['STRATA_PROFILE'] ?? config.currentProfile;
  const name = asked ?? 'default';
  if (asked && !config.profiles[name] && !flags.endpoint && !env['STRATA_ENDPOINT']) {
    throw new CliError(
      'PROFILE_NOT_FOUND',
      `no profile "${name}" in the config file (strata config set-profile ${name} --endpoint URL ...)`,
    );
  }
  const p = config.profiles[name];
  const apiKey = flags.apiKey ?? env['STRATA_API_KEY'] ?? p?.apiKey;
  const secretKey = flags.secretKey ?? env['STRATA_SECRET_KEY'] ?? p?.secretKey;
  return {
    name,
    endpoint: (flags.endpoint ?? env['STRATA_ENDPOINT'] ?? p?.endpoint ?? DEFAULT_ENDPOINT).replace(
      /\/+$/,
      '',
    ),
    ...(apiKey ? { apiKey } : {}),
    ...(secretKey ? { secretKey } : {}),
  };
}
