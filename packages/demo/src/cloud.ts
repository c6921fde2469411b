import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { startAgentProcess, waitUntil } from './processes.js';
import type { Backends } from './backends.js';
import type { Page, Rest } from './rest.js';

const GiB = 1024 ** 3;
const run = promisify(execFile);

export interface Named {
  readonly id: string;
  readonly name: string;
}
interface HostView extends Named {
  readonly state: string;
  readonly iscsiInitiator: string | null;
}

/** What the demo registered: ids of the zone, cluster, host, pools and template. */
export interface Cloud {
  readonly zoneId: string;
  readonly clusterId: string;
  readonly host: HostView;
  readonly pools: { readonly qcow2: string; readonly tgt: string; readonly rbd: string | null };
  readonly templateId: string;
  /** The agent process this run started (null when one was already connected). */
  readonly agent: ChildProcess | null;
}

/** A template's size is its disk's virtual size (what a clone of it holds), not the file's. */
async function virtualSize(image: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', image]);
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

/** The pool directories the demo's agent holds: the qcow2 pools' parent and the tgt pools' parent. */
export function demoPoolDirs(b: Backends): string[] {
  return [dirname(b.qcow2Dir), dirname(b.tgtDir)];
}

async function ensure<T extends Named>(
  rest: Rest,
  path: string,
  name: string,
  body: Record<string, unknown>,
): Promise<T> {
  return (await rest.findByName<T>(path, name)) ?? (await rest.post<T>(path, { name, ...body }));
}

/**
 * Registers the demo's infrastructure through the API, idempotently by name: a zone, a cluster,
 * this machine as a host (its agent joins with a one-time token), three storage pools on three
 * kinds of storage, and the tiny guest as a template.
 */
export async function setupCloud(
  rest: Rest,
  b: Backends,
  opts: {
    serverAgentUrl: string;
    agentStateDir: string;
    /** The host state directory its agent serves (the server's STRATA_HOST_STATE_DIR). */
    hostStateDir: string;
    detached: boolean;
    log: (line: string) => void;
    track: (child: ChildProcess) => void;
  },
): Promise<Cloud> {
  const zone = await ensure<Named>(rest, '/v1/zones', 'demo-zone', {});
  const cluster = await ensure<Named>(rest, '/v1/clusters', 'demo-cluster', { zoneId: zone.id });
  const upHost = async () => (await rest.get<Page<HostView>>('/v1/hosts', { state: 'Up' })).items[0];
  let host = await upHost();
  let agent: ChildProcess | null = null;
  if (!host) {
    const hasCredentials = await stat(`${opts.agentStateDir}/credentials.json`).then(
      () => true,
      () => false,
    );
    const issued = await rest.post<{ token: string; fingerprint: string }>('/v1/hosts/registration-tokens', {
      clusterId: cluster.id,
    });
    await mkdir(opts.agentStateDir, { recursive: true, mode: 0o700 });
    opts.log('starting the host agent on this machine');
    agent = startAgentProcess({
      serverUrl: opts.serverAgentUrl,
      fingerprint: issued.fingerprint,
      token: hasCredentials ? null : issued.token,
      stateDir: opts.agentStateDir,
      detached: opts.detached,
      hostStateDir: opts.hostStateDir,
      // This machine is also the storage node: it holds the pools (those a test adds beside the
      // demo's too: every tgt pool directory of the reflink mount is below the tgt pool's parent).
      poolDirs: demoPoolDirs(b),
      snapshotStore: b.snapshotStore,
    });
    opts.track(agent);
    host = await waitUntil('the host agent to connect', 180_000, upHost);
  }
  const pool = (name: string, body: Record<string, unknown>) =>
    ensure<Named>(rest, '/v1/storage-pools', name, {
      zoneId: zone.id,
      clusterId: cluster.id,
      scope: 'cluster',
      ...body,
    });
  const qcow2 = await pool('demo qcow2 <files>', {
    provider: 'qcow2',
    managed: false,
    capacityBytes: 64 * GiB,
    capacityIops: 0,
    url: `file://${b.qcow2Dir}`,
  });
  const tgt = await pool('demo iSCSI "tgt"', {
    provider: 'tgt',
    managed: true,
    capacityBytes: 64 * GiB,
    capacityIops: 20_000,
    url: `iscsi://${b.tgtPortal}${b.tgtDir}`,
  });
  const rbd = b.ceph
    ? await pool("demo Ceph 'rbd'", {
        provider: 'rbd',
        managed: true,
        capacityBytes: 64 * GiB,
        capacityIops: 20_000,
        url: `rbd://${b.ceph.pool}`,
        details: {
          confPath: b.ceph.confPath,
          keyringPath: b.ceph.adminKeyringPath,
          monitors: b.ceph.monitors.join(','),
        },
      })
    : null;
  const template = await ensure<Named>(rest, '/v1/templates', 'tiny guest', {
    path: b.guest.baseImage,
    format: 'qcow2',
    sizeBytes: await virtualSize(b.guest.baseImage),
    kernel: { path: b.guest.kernel, initrd: b.guest.initrd, cmdline: b.guest.cmdline },
  });
  return {
    zoneId: zone.id,
    clusterId: cluster.id,
    host,
    pools: { qcow2: qcow2.id, tgt: tgt.id, rbd: rbd?.id ?? null },
    templateId: template.id,
    agent,
  };
}
