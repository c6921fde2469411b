import { readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, normalize } from 'node:path';
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
  /**
   * The pool directories this machine mounts or holds (absolute paths; env `:`-separated, like
   * PATH): qcow2 pools as an NFS share is mounted, tgt pools on the reflink filesystem. The file
   * commands serve them; in the storage role, so do the drivers of pools at or below them.
   */
  readonly poolDirs: readonly string[];
  /**
   * The host state directory (transient overlays, memory states): the same path the server names
   * (STRATA_HOST_STATE_DIR, default /var/lib/strata/state). The file commands serve it.
   */
  readonly hostStateDir: string;
  /**
   * The snapshot store this host mounts (STRATA_AGENT_SNAPSHOT_STORE, `snapshotStore`): where VM
   * snapshots' memory states go, at the same path on every host of the zone (an NFS share, like
   * CloudStack's secondary storage), so any of them can revert or delete one. Reported in the
   * host's facts; the file commands serve it. Absent: memory states stay in the host state directory.
   */
  readonly snapshotStore?: string;
  /**
   * The CPUs and memory to report when smaller than the machine's (STRATA_AGENT_CPUS,
   * STRATA_AGENT_MEMORY_BYTES; `cpus`, `memoryBytes` in the file). Empty: the machine's.
   */
  readonly capacity: ReportedCapacity;
}

/** Driver types a storage node serves unless told otherwise. */
export const defaultStorageProviders: readonly string[] = ['qcow2', 'tgt', 'rbd'];

export const DEFAULT_HOST_STATE_DIR = '/var/lib/strata/state';

/**
 * Every directory the file commands may touch: the host state directory, the pool directories and
 * the snapshot store.
 */
export const servedDirs = (
  c: Pick<AgentConfig, 'hostStateDir' | 'poolDirs'> & { readonly snapshotStore?: string | undefined },
): string[] => [c.hostStateDir, ...c.poolDirs, ...(c.snapshotStore ? [c.snapshotStore] : [])];

/**
 * Settings that were merged into another: refused at start with the one to use, so a machine is
 * never left serving less than its operator meant.
 */
const REPLACED = [
  { env: 'STRATA_AGENT_FILE_ROOTS', key: 'fileRoots', by: 'STRATA_AGENT_POOL_DIRS ("poolDirs")' },
] as const;

const ENV = {
  serverUrl: 'STRATA_SERVER_URL',
  serverFingerprint: 'STRATA_SERVER_FINGERPRINT',
  registrationToken: 'STRATA_REGISTRATION_TOKEN',
  stateDir: 'STRATA_AGENT_STATE_DIR',
  initiatorFile: 'STRATA_AGENT_INITIATOR_FILE',
  hostStateDir: 'STRATA_HOST_STATE_DIR',
  snapshotStore: 'STRATA_AGENT_SNAPSHOT_STORE',
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

/** Absolute and normal, and never `/` itself (that would serve every file of the machine). */
function checkPoolDirs(dirs: readonly string[], field = 'poolDirs'): string[] {
  const bad = dirs.find((d) => !isAbsolute(d) || normalize(d) !== d || d === '/');
  if (bad !== undefined) {
    throw new StrataError('INVALID_ARGUMENT', {
      field,
      reason: `not an absolute, normal directory other than /: ${bad}`,
    });
  }
  return [...dirs];
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
  for (const old of REPLACED) {
    if (env[old.env] !== undefined || fromFile[old.key] !== undefined) {
      throw new StrataError('INVALID_ARGUMENT', {
        field: old.key,
        reason: `${old.env} ("${old.key}") is replaced by ${old.by}: list every pool directory this machine mounts or holds there`,
      });
    }
  }
  const pick = (key: keyof typeof ENV): string | undefined =>
    env[ENV[key]] ?? (typeof fromFile[key] === 'string' ? fromFile[key] : undefined);
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
  const poolDirs = checkPoolDirs(listSetting('poolDirs', env, fromFile) ?? []);
  const store = pick('snapshotStore');
  const snapshotStore = store ? checkPoolDirs([store], 'snapshotStore')[0] : undefined;
  return {
    serverUrl: need('serverUrl'),
    serverFingerprint: need('serverFingerprint'),
    stateDir: pick('stateDir') ?? '/var/lib/strata-agent',
    hostStateDir: pick('hostStateDir') || DEFAULT_HOST_STATE_DIR,
    ...(token ? { registrationToken: token } : {}),
    ...(initiatorFile ? { initiatorFile } : {}),
    roles: checkRoles(listSetting('roles', env, fromFile) ?? ['kvm']),
    storageProviders: listSetting('storageProviders', env, fromFile) ?? [...defaultStorageProviders],
    poolDirs,
    ...(snapshotStore && { snapshotStore }),
    capacity: reportedCapacity(env, fromFile, machine),
  };
}

export function credentialsPath(config: AgentConfig): string {
  return join(config.stateDir, 'credentials.json');
}
