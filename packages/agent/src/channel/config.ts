import { readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { agentRoles, StrataError, type AgentRole } from '@strata/core';
import { reportedCapacity, type MachineCapacity, type ReportedCapacity } from '../host/capacity.js';

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
  /** `kvm` (runs VMs), `storage` (serves storage drivers, ADR 0003), or both. Default `kvm`. */
  readonly roles: readonly AgentRole[];
  /** In the storage role: the driver types this node builds. Default qcow2, tgt, rbd. */
  readonly storageProviders: readonly string[];
  /** In the storage role: the pool directories this node mounts or holds (absolute paths). */
  readonly poolDirs: readonly string[];
  /**
   * The host state directory (transient overlays, memory states): the same path the server names
   * (STRATA_HOST_STATE_DIR, default /var/lib/strata/state). The file commands serve it.
   */
  readonly hostStateDir: string;
  /**
   * The qcow2 pool directories this host mounts (as an NFS share would be mounted): the file
   * commands serve these too, and nothing else. Env: `:`-separated, like PATH.
   */
  readonly fileRoots: readonly string[];
  /**
   * The CPUs and memory to report when smaller than the machine's (STRATA_AGENT_CPUS,
   * STRATA_AGENT_MEMORY_BYTES; `cpus`, `memoryBytes` in the file). Empty: the machine's.
   */
  readonly capacity: ReportedCapacity;
}

/** Driver types a storage node serves unless told otherwise. */
export const defaultStorageProviders: readonly string[] = ['qcow2', 'tgt', 'rbd'];

export const DEFAULT_HOST_STATE_DIR = '/var/lib/strata/state';

/** Every directory the file commands may touch. */
export const servedDirs = (c: Pick<AgentConfig, 'hostStateDir' | 'fileRoots'>): string[] => [
  c.hostStateDir,
  ...c.fileRoots,
];

const ENV = {
  serverUrl: 'STRATA_SERVER_URL',
  serverFingerprint: 'STRATA_SERVER_FINGERPRINT',
  registrationToken: 'STRATA_REGISTRATION_TOKEN',
  stateDir: 'STRATA_AGENT_STATE_DIR',
  initiatorFile: 'STRATA_AGENT_INITIATOR_FILE',
  hostStateDir: 'STRATA_HOST_STATE_DIR',
  fileRoots: 'STRATA_AGENT_FILE_ROOTS',
} as const;

/** List settings: comma-separated in the environment (pool directories: `:`-separated, like PATH). */
const LIST_ENV = {
  roles: 'STRATA_AGENT_ROLES',
  storageProviders: 'STRATA_AGENT_STORAGE_PROVIDERS',
  poolDirs: 'STRATA_AGENT_POOL_DIRS',
} as const;

function listSetting(
  key: keyof typeof LIST_ENV,
  env: NodeJS.ProcessEnv,
  fromFile: Partial<Record<string, unknown>>,
): string[] | undefined {
  const raw = env[LIST_ENV[key]];
  if (raw !== undefined && raw !== '') {
    return raw
      .split(key === 'poolDirs' ? delimiter : ',')
      .map((v) => v.trim())
      .filter(Boolean);
  }
  const value = fromFile[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new StrataError('INVALID_ARGUMENT', { field: key, reason: 'a list of strings' });
  }
  return value;
}

function checkRoles(roles: readonly string[]): AgentRole[] {
  const bad = roles.find((r) => !(agentRoles as readonly string[]).includes(r));
  if (bad !== undefined || roles.length === 0) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'roles',
      reason: `${LIST_ENV.roles} takes one or more of ${agentRoles.join(', ')}${bad !== undefined ? ` (not ${bad})` : ''}`,
    });
  }
  return [...new Set(roles as AgentRole[])];
}

/**
 * Reads the JSON config file (when given), then lets environment variables override each field,
 * so a token can be passed once on the command line without touching the file.
 */
export async function loadAgentConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  machine?: MachineCapacity,
): Promise<AgentConfig> {
  const fromFile = file ? (JSON.parse(await readFile(file, 'utf8')) as Partial<Record<string, unknown>>) : {};
  const pick = (key: Exclude<keyof typeof ENV, 'fileRoots'>): string | undefined =>
    env[ENV[key]] ?? (typeof fromFile[key] === 'string' ? fromFile[key] : undefined);
  const need = (key: Exclude<keyof typeof ENV, 'fileRoots'>): string => {
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
  const poolDirs = listSetting('poolDirs', env, fromFile) ?? [];
  const relativeDir = poolDirs.find((d) => !isAbsolute(d));
  if (relativeDir !== undefined) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'poolDirs',
      reason: `not an absolute path: ${relativeDir}`,
    });
  }
  return {
    serverUrl: need('serverUrl'),
    serverFingerprint: need('serverFingerprint'),
    stateDir: pick('stateDir') ?? '/var/lib/strata-agent',
    hostStateDir: pick('hostStateDir') || DEFAULT_HOST_STATE_DIR,
    fileRoots: fileRootsOf(env[ENV.fileRoots], fromFile['fileRoots']),
    ...(token ? { registrationToken: token } : {}),
    ...(initiatorFile ? { initiatorFile } : {}),
    roles: checkRoles(listSetting('roles', env, fromFile) ?? ['kvm']),
    storageProviders: listSetting('storageProviders', env, fromFile) ?? [...defaultStorageProviders],
    poolDirs,
    capacity: reportedCapacity(env, fromFile, machine),
  };
}

function fileRootsOf(fromEnv: string | undefined, fromFile: unknown): string[] {
  if (fromEnv !== undefined) return fromEnv.split(':').filter((d) => d !== '');
  if (fromFile === undefined) return [];
  if (!Array.isArray(fromFile) || fromFile.some((d) => typeof d !== 'string')) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'fileRoots',
      reason: 'must be an array of directories',
    });
  }
  return fromFile as string[];
}

export function credentialsPath(config: AgentConfig): string {
  return join(config.stateDir, 'credentials.json');
}
