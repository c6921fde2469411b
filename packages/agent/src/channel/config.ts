import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/core';

/** What an agent process needs to join a management server. */
export interface AgentConfig {
  /** `wss://server:8843/agent/v1` */
  readonly serverUrl: string;
  /** SHA-256 fingerprint of the server certificate (printed with the registration token). */
  readonly serverFingerprint: string;
  /** One-time; ignored once the credentials file exists. */
  readonly registrationToken?: string;
  /** Where the agent keeps its credentials (credentials.json, mode 0600). */
  readonly stateDir: string;
  /** The host's iSCSI initiator name file (default: open-iscsi's /etc/iscsi/initiatorname.iscsi). */
  readonly initiatorFile?: string;
}

const ENV = {
  serverUrl: 'STRATA_SERVER_URL',
  serverFingerprint: 'STRATA_SERVER_FINGERPRINT',
  registrationToken: 'STRATA_REGISTRATION_TOKEN',
  stateDir: 'STRATA_AGENT_STATE_DIR',
  initiatorFile: 'STRATA_AGENT_INITIATOR_FILE',
} as const;

/**
 * Reads the JSON config file (when given), then lets environment variables override each field,
 * so a token can be passed once on the command line without touching the file.
 */
export async function loadAgentConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AgentConfig> {
  const fromFile = file ? (JSON.parse(await readFile(file, 'utf8')) as Partial<AgentConfig>) : {};
  const pick = (key: keyof typeof ENV): string | undefined => env[ENV[key]] ?? fromFile[key];
  const need = (key: keyof typeof ENV): string => {
    const value = pick(key);
    if (!value)
      throw new StrataError('INVALID_ARGUMENT', {
        field: key,
        reason: `set ${ENV[key]} or "${key}" in the config file`,
      });
    return value;
  };
  const token = pick('registrationToken');
  const initiatorFile = pick('initiatorFile');
  return {
    serverUrl: need('serverUrl'),
    serverFingerprint: need('serverFingerprint'),
    stateDir: pick('stateDir') ?? '/var/lib/strata-agent',
    ...(token ? { registrationToken: token } : {}),
    ...(initiatorFile ? { initiatorFile } : {}),
  };
}

export function credentialsPath(config: AgentConfig): string {
  return join(config.stateDir, 'credentials.json');
}
