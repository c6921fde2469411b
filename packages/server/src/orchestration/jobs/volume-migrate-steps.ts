import {
  StrataError,
  type DiskSource,
  type DiskSpec,
  type Host,
  type IoTune,
  type StorageContext,
  type Volume,
} from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { Json } from '../../jobs/index.js';
import { toHost } from '../../services/infrastructure.js';
import { hostRef, loadHost, loadVm, type OrchestrationDeps } from '../deps.js';
import { toDiskSource } from '../disk-source.js';
import { diskSpecFor, secretUuid } from '../host-disks.js';
import { domainName } from '../naming.js';

/** What `plan` fixed: where the disk is, where it goes, and who copies it. */
export type MovePlan = {
  readonly sourcePoolId: string;
  /** The source's active layer (qcow2) or backend name, for its release. */
  readonly sourceRef: string | null;
  readonly destPoolId: string;
  /** The VM's host when its guest runs (a block copy), else null (an offline copy). */
  readonly liveHostId: string | null;
  /** The host granted both volumes: the live host, or the KVM host that copies offline. */
  readonly copyHostId: string;
  readonly vmId: string | null;
};

/** The volume as it is (or will be) on one pool: the drivers key it by the same id on each. */
export const onPool = (v: Volume, poolId: string, backendRef: string | null): Volume => ({
  ...v,
  poolId,
  backendRef,
});

/** A connected KVM host to run an offline copy: the VM's last host when it has one. */
export async function copyHost(q: Queryable, vmId: string | null): Promise<Host> {
  const row = (
    await q.query(
      `SELECT h.* FROM hosts h LEFT JOIN vms v ON v.id = $1 AND v.host_id = h.id
        WHERE h.state = 'Up' AND (h.facts->'roles' IS NULL OR h.facts->'roles' ? 'kvm')
        ORDER BY (v.id IS NULL), h.created_at, h.id LIMIT 1`,
      [vmId],
    )
  )[0];
  if (!row)
    throw new StrataError('UNAVAILABLE', { what: 'a host', reason: 'no KVM host agent is connected' });
  return toHost(row);
}

/** Grants a host one volume and answers its source as the host opens it (secrets pushed first). */
export async function openOn(
  deps: OrchestrationDeps,
  sctx: StorageContext,
  v: Volume,
  host: Host,
): Promise<DiskSource> {
  const driver = await deps.drivers.forPool(v.poolId);
  const ref = hostRef(host);
  await driver.grantAccess(sctx, { volumeId: v.id, host: ref });
  const info = await driver.connectionInfo(sctx, { volumeId: v.id, host: ref });
  const { source, secret } = toDiskSource(info, secretUuid);
  if (secret)
    await deps.agent.send(host.id, 'secret.set', {
      uuid: secretUuid(secret.usage),
      usage: secret.usage,
      type: secret.type,
      value: secret.value,
    });
  return source.kind === 'file' && v.backendRef ? { ...source, path: v.backendRef } : source;
}

export async function revokeOn(
  deps: OrchestrationDeps,
  sctx: StorageContext,
  v: Volume,
  hostId: string,
): Promise<void> {
  const host = await loadHost(deps.db, hostId);
  await (await deps.drivers.forPool(v.poolId)).revokeAccess(sctx, { volumeId: v.id, host: hostRef(host) });
}

/**
 * A running guest's disk moved onto `to` (block copy, then pivot) and the limits QEMU must
 * enforce for that pool set on the device and read back: a pool that enforces QoS in its backend
 * takes them off QEMU, one that does not puts them there.
 */
export async function copyLive(
  deps: OrchestrationDeps,
  sctx: StorageContext,
  to: Volume,
  hostId: string,
): Promise<{
  readonly copied: boolean;
  readonly tookMs: number;
  readonly readyMs?: number;
  readonly pivotMs?: number;
  readonly iotune: Json;
}> {
  if (!to.vmId) throw new StrataError('INTERNAL', { reason: `volume ${to.id} is not attached` });
  const vm = await loadVm(deps.db, to.vmId);
  const host = await loadHost(deps.db, hostId);
  const disk: DiskSpec = await diskSpecFor(deps, sctx, to, hostRef(host));
  const r = await deps.agent.send(hostId, 'disk.copy', { vm: domainName(vm), disk }, { signal: sctx.signal });
  const iotune = await setIoTune(deps, hostId, domainName(vm), disk, to.id);
  return {
    copied: r.copied,
    tookMs: r.tookMs,
    // where the agent's time went: the mirror until ready, the pivot
    ...(r.readyMs !== undefined && { readyMs: r.readyMs }),
    ...(r.pivotMs !== undefined && { pivotMs: r.pivotMs }),
    iotune: JSON.parse(JSON.stringify(iotune)) as Json,
  };
}

export async function setIoTune(
  deps: OrchestrationDeps,
  hostId: string,
  vm: string,
  disk: DiskSpec,
  volumeId: string,
): Promise<IoTune> {
  const wanted = disk.iotune ?? { totalIopsSec: 0 };
  const same = (got: IoTune) =>
    got.totalIopsSec === wanted.totalIopsSec &&
    (got.totalIopsSecMax ?? 0) === (wanted.totalIopsSecMax ?? 0) &&
    (wanted.totalIopsSecMaxLength === undefined ||
      got.totalIopsSecMaxLength === wanted.totalIopsSecMaxLength);
  // Read first: a move between pools whose limits QEMU holds alike changes nothing live (the
  // agent's copy already saved them in the definition); else set them, live and saved.
  const now = await deps.agent.send(hostId, 'iotune.get', { vm, target: disk.target });
  if (same(now)) return now;
  const got = await deps.agent.send(hostId, 'iotune.set', { vm, target: disk.target, iotune: wanted });
  if (!same(got))
    throw new StrataError('QOS_NOT_APPLIED', {
      volume: volumeId,
      wanted: JSON.stringify(wanted),
      got: JSON.stringify(got),
    });
  return got;
}

/** Where a running guest's disk is now, as `domblklist` names it (a file path, pool/image, iqn/lun). */
export async function liveSourceOf(
  deps: OrchestrationDeps,
  v: Volume,
  hostId: string,
): Promise<string | undefined> {
  if (!v.vmId || !v.deviceName) return undefined;
  const vm = await loadVm(deps.db, v.vmId);
  const report = await deps.agent.send(hostId, 'vm.state', { vm: domainName(vm) });
  return report.disks.find((d) => d.target === v.deviceName)?.source;
}
