import { dirname } from 'node:path';
import { cantHandle, consistencyOf, type VmSnapshotRequest } from '@strata/core';
import { volumeFiles } from '../../orchestration/pool-agent.js';
import type { SnapshotStrategy, StrategyContext, TakeInput } from '../strategy/index.js';

/**
 * A strategy of a test's own, written the way docs/vm-snapshots.md says one is written, and
 * registered with the built-ins (snapshotStrategies(pinnedStrategy(...))). It claims the stopped
 * VMs it is given, at HIGHEST (so it beats the built-ins), when every disk is a qcow2 file. It
 * pins each disk's active file as the snapshot under an overlay of its own naming
 * (`<volume>.pinned-<snapshot>.qcow2`), reverts with another overlay of its naming over the pinned
 * file, and merges nothing on delete: it offers the pinned file to the job, which drops it once no
 * layer stands on it. Every call is recorded in `calls`, so a test sees which strategy did the work.
 * Test support, not product code.
 */
export function pinnedStrategy(claims: ReadonlySet<string>, calls: string[]): SnapshotStrategy {
  const overlayOf = (input: TakeInput, active: string, volumeId: string) =>
    `${dirname(active)}/${volumeId}.pinned-${input.vmSnapshotId}.qcow2`;
  const fileDisks = (input: TakeInput) =>
    input.plan.disks.flatMap((d) => (d.frozenPath ? [{ ...d, active: d.frozenPath }] : []));
  return {
    name: 'pinned',
    canHandle(req: VmSnapshotRequest) {
      if (!claims.has(req.vm.id)) return cantHandle('not a VM this strategy was given');
      if (req.vm.state !== 'Stopped') return cantHandle('pins the files of stopped VMs only');
      if (req.disks.length === 0 || req.disks.some((d) => !d.hypervisorManaged))
        return cantHandle('needs every disk to be a qcow2 file');
      return {
        priority: 'HIGHEST',
        reason: `pins the ${req.disks.length} qcow2 files under its own overlays`,
      };
    },
    async take(ctx: StrategyContext, input: TakeInput) {
      calls.push(`take ${input.vmSnapshotId}`);
      const t0 = performance.now();
      const disks = fileDisks(input);
      for (const d of disks) {
        const files = await volumeFiles(ctx.deps, d.volumeId, input.plan.hostId);
        await files.createOverlay(overlayOf(input, d.active, d.volumeId), d.active, ctx.storage.signal);
      }
      return {
        volumes: disks.map((d) => ({
          volumeId: d.volumeId,
          snapshotRef: d.active,
          by: 'hypervisor' as const,
        })),
        consistency: consistencyOf(input.plan.quiesce, { state: 'Stopped', guestAgent: false }),
        holdMs: 0,
        cutSpreadMs: 0,
        totalMs: performance.now() - t0,
        activeLayers: disks.map((d) => ({
          volumeId: d.volumeId,
          path: overlayOf(input, d.active, d.volumeId),
        })),
      };
    },
    async abandon(ctx, input) {
      calls.push(`abandon ${input.vmSnapshotId}`);
      for (const d of fileDisks(input)) {
        const files = await volumeFiles(ctx.deps, d.volumeId, input.plan.hostId);
        await files.remove(overlayOf(input, d.active, d.volumeId), ctx.storage.signal);
      }
    },
    async revert(ctx, { snapshot, hostId }) {
      calls.push(`revert ${snapshot.id}`);
      const files = [];
      for (const p of snapshot.parts) {
        const row = (
          await ctx.deps.db.query('SELECT backend_ref FROM volumes WHERE id = $1', [p.volumeId])
        )[0];
        const newActive = `${dirname(p.ref)}/${p.volumeId}.pinned-revert-${ctx.jobId}.qcow2`;
        await (
          await volumeFiles(ctx.deps, p.volumeId, hostId)
        ).createOverlay(newActive, p.ref, ctx.storage.signal);
        files.push({
          volumeId: p.volumeId,
          frozenPath: p.ref,
          newActive,
          oldActive: (row?.['backend_ref'] as string | null | undefined) ?? null,
        });
      }
      return { reverted: files.length, files };
    },
    delete(_ctx, { snapshot }) {
      calls.push(`delete ${snapshot.id}`);
      const merges = snapshot.parts.map((p) => ({
        volumeId: p.volumeId,
        frozenPath: p.ref,
        mergedActive: null,
        running: false,
        unused: [p.ref],
      }));
      return Promise.resolve({ deleted: [], merges });
    },
  };
}
