import type { Cloud, Named } from './cloud.js';
import type { Page, Rest } from './rest.js';
import type { DemoDisk, VolumeView } from './story.js';

const MiB = 1024 * 1024;

/**
 * A VM from the tiny-guest template whose disks are all qcow2 files (so the hypervisor strategy
 * takes its snapshots): the ROOT disk (ext4 with the writer's log) and one raw-records data disk,
 * both in `poolId` (default: the demo's qcow2 pool). Started, like buildDemoVm's.
 */
export async function buildQcow2Vm(
  rest: Rest,
  cloud: Cloud,
  log: (line: string) => void,
  opts: {
    readonly name: string;
    readonly poolId?: string;
    readonly dataSizeBytes?: number;
    /** Start it (default true). */
    readonly start?: boolean;
  },
): Promise<{ vm: Named; disks: DemoDisk[] }> {
  const poolId = opts.poolId ?? cloud.pools.qcow2;
  const { resource: vm } = await rest.run<Named>('/v1/vms/deploy', {
    name: opts.name,
    templateId: cloud.templateId,
    poolId,
    memoryBytes: 128 * MiB,
    start: false,
  });
  const root = (await rest.get<Page<VolumeView>>('/v1/volumes', { vmId: vm.id, type: 'ROOT' })).items[0];
  if (!root) throw new Error(`deploy left VM ${vm.id} without a ROOT volume`);
  const made = await rest.run<VolumeView>('/v1/volumes', {
    name: `data of ${opts.name}`,
    poolId,
    sizeBytes: opts.dataSizeBytes ?? 64 * MiB,
  });
  await rest.run(`/v1/volumes/${made.resource.id}/attach`, { vmId: vm.id });
  const data = await rest.get<VolumeView>(`/v1/volumes/${made.resource.id}`);
  log(`VM ${vm.id}: ROOT ${root.id}, data ${data.id} (${opts.dataSizeBytes ?? 64 * MiB} bytes)`);
  if (opts.start ?? true) await rest.run(`/v1/vms/${vm.id}/start`);
  const file = (v: VolumeView) => ({
    adaptor: 'file' as const,
    path: v.backendRef ?? '',
    format: 'qcow2' as const,
  });
  return {
    vm,
    disks: [
      { label: 'root (qcow2, ext4 log)', volume: root, kind: 'root-fs', conn: file },
      { label: 'data (qcow2)', volume: data, kind: 'raw-records', conn: file },
    ],
  };
}
