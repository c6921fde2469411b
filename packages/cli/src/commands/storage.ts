import type { Command } from 'commander';
import { action, type Accepted } from '../context.js';
import { col, humanBytes, parseIntArg, parseSize, sizeText, type SnapshotSize } from '../output.js';
import { enc, resource } from './resource.js';
import { displayNameCommand } from './settings.js';

const qosText = (q: unknown): string | null => {
  const qos = q as { minIops?: number; maxIops?: number; burstIops?: number } | null;
  return qos ? `${String(qos.minIops)}/${String(qos.maxIops)}/${String(qos.burstIops)}` : null;
};

interface QosOpts {
  minIops?: number;
  maxIops?: number;
  burstIops?: number;
  burstSeconds?: number;
}
function qosBody(o: QosOpts): Record<string, number> | null {
  if (o.minIops === undefined && o.maxIops === undefined) return null;
  return {
    minIops: o.minIops ?? 0,
    maxIops: o.maxIops ?? o.minIops ?? 0,
    ...(o.burstIops !== undefined ? { burstIops: o.burstIops } : {}),
    ...(o.burstSeconds !== undefined ? { burstSeconds: o.burstSeconds } : {}),
  };
}

function qosOptions(c: Command): Command {
  return c
    .option('--min-iops <n>', 'minimum IOPS', parseIntArg)
    .option('--max-iops <n>', 'maximum IOPS', parseIntArg)
    .option('--burst-iops <n>', 'burst IOPS', parseIntArg)
    .option('--burst-seconds <n>', 'burst length in seconds', parseIntArg);
}

interface IopsAnswer {
  readonly qos: unknown;
  readonly deviceName: string | null;
  readonly periodMs: number;
  readonly points: ReadonlyArray<{ at: number; readIops: number; writeIops: number; iops: number }>;
  readonly reason: string | null;
}

const IOPS_COLUMNS = [col('at'), col('read', 'readIops'), col('write', 'writeIops'), col('iops')];

export function volumes(): Command {
  const cmd = resource({
    name: 'volumes',
    description: 'volumes (virtual disks)',
    path: '/v1/volumes',
    remove: 'job',
    columns: [
      col('id'),
      col('name'),
      col('display name', 'displayName'),
      col('type'),
      col('state'),
      col('size', (v) => humanBytes(v['sizeBytes'])),
      col('pool', 'poolId'),
      col('vm', 'vmId'),
      col('device', 'deviceName'),
      col('iops min/max/burst', (v) => qosText(v['qos'])),
    ],
    filters: [
      ['--pool <id>', 'poolId', 'on this pool'],
      ['--vm <id>', 'vmId', 'attached to this VM'],
      ['--state <state>', 'state', 'in this state'],
      ['--type <type>', 'type', 'ROOT or DATA'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  displayNameCommand(cmd, '/v1/volumes');
  qosOptions(
    cmd
      .command('create')
      .description('create a volume (job)')
      .requiredOption('--name <name>', 'volume name')
      .option('--pool <id>', "storage pool (a volume from a snapshot is made in the snapshot's pool)")
      .option(
        '--from-snapshot <id>',
        "a volume snapshot, or one disk's part of a VM snapshot: the new volume holds its data",
      )
      .option('--size <size>', 'size (10G); needed unless the offering fixes it', parseSize)
      .option('--offering <id>', 'disk offering')
      .option('--type <type>', "DATA, or ROOT for a VM's boot disk made from its template", 'DATA')
      .option('--vm <id>', 'the VM it belongs to (ROOT)'),
  ).action(
    action(
      async (
        ctx,
        o: QosOpts & {
          name: string;
          pool?: string;
          fromSnapshot?: string;
          size?: number;
          offering?: string;
          type: string;
          vm?: string;
        },
      ) => {
        const a = await ctx.client.request<Accepted>('POST', '/v1/volumes', {
          body: {
            name: o.name,
            // the server refuses a missing pool with its own coded error (unless from a snapshot)
            ...(o.pool ? { poolId: o.pool } : {}),
            ...(o.fromSnapshot ? { snapshotId: o.fromSnapshot } : {}),
            ...(o.size !== undefined ? { sizeBytes: o.size } : {}),
            offeringId: o.offering ?? null,
            qos: qosBody(o),
            type: o.type.toUpperCase(),
            ...(o.vm ? { vmId: o.vm } : {}),
          },
        });
        await ctx.accepted(a, `/v1/volumes/${enc(String(a.resource['id']))}`);
      },
    ),
  );
  cmd
    .command('attach')
    .description('attach to a VM, running or stopped (job)')
    .argument('<id>')
    .requiredOption('--vm <id>', 'the VM')
    .action(
      action(async (ctx, id: string, o: { vm: string }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/volumes/${enc(id)}/attach`, {
            body: { vmId: o.vm },
          }),
          `/v1/volumes/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('detach')
    .description('detach from its VM (job)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/volumes/${enc(id)}/detach`),
          `/v1/volumes/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('resize')
    .description('grow a volume (job)')
    .argument('<id>')
    .requiredOption('--size <size>', 'new size (20G)', parseSize)
    .action(
      action(async (ctx, id: string, o: { size: number }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/volumes/${enc(id)}/resize`, {
            body: { sizeBytes: o.size },
          }),
          `/v1/volumes/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('migrate')
    .description('move a volume to another pool, live when its VM runs (job; `strata jobs cancel` stops it)')
    .argument('<id>')
    .requiredOption('--pool <poolId>', 'the destination pool')
    .action(
      action(async (ctx, id: string, o: { pool: string }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/volumes/${enc(id)}/migrate`, {
            body: { poolId: o.pool },
          }),
          `/v1/volumes/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('iops')
    .description("its guest's IOPS over the last minutes, as its VM's host sampled them, and its QoS")
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const w = await ctx.client.get<IopsAnswer>(`/v1/volumes/${enc(id)}/iops`);
        if (ctx.json) return ctx.print(w);
        ctx.list({ items: w.points.map((p) => ({ ...p, at: new Date(p.at).toISOString() })) }, IOPS_COLUMNS);
        ctx.note(
          `QoS min/max/burst: ${qosText(w.qos) ?? 'none'}` +
            (w.reason
              ? `; no samples: ${w.reason}`
              : `; every ${w.periodMs / 1000} s on ${w.deviceName ?? '?'}`),
        );
      }),
    );
  qosOptions(
    cmd.command('qos').description('change QoS live; applied and read back (job)').argument('<id>'),
  ).action(
    action(async (ctx, id: string, o: QosOpts) => {
      const body = qosBody(o);
      if (!body) throw new Error('give --min-iops and/or --max-iops');
      await ctx.accepted(
        await ctx.client.request<Accepted>('PUT', `/v1/volumes/${enc(id)}/qos`, { body }),
        `/v1/volumes/${enc(id)}`,
      );
    }),
  );
  return cmd;
}

const SNAPSHOT_COLUMNS = [
  col('id'),
  col('name'),
  col('state'),
  col('volume', 'volumeId'),
  col('vm snapshot', 'vmSnapshotId'),
  col('size', (s) => humanBytes(s['sizeBytes'])),
  col('created', 'createdAt'),
];

export function volumeSnapshots(): Command {
  const cmd = resource({
    name: 'volume-snapshots',
    aliases: ['snapshots'],
    description: 'snapshots of single volumes',
    path: '/v1/volume-snapshots',
    remove: 'job',
    gone: 'Deleted',
    columns: SNAPSHOT_COLUMNS,
    filters: [
      ['--volume <id>', 'volumeId', 'of this volume'],
      ['--vm-snapshot <id>', 'vmSnapshotId', 'part of this VM snapshot'],
      ['--state <state>', 'state', 'in this state'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  cmd
    .command('create')
    .description('snapshot a volume (job)')
    .requiredOption('--volume <id>', 'the volume')
    .requiredOption('--name <name>', 'snapshot name')
    .option('--quiesce', 'freeze the guest filesystems for the cut')
    .action(
      action(async (ctx, o: { volume: string; name: string; quiesce?: boolean }) => {
        const a = await ctx.client.request<Accepted>('POST', '/v1/volume-snapshots', {
          body: { volumeId: o.volume, name: o.name, quiesce: Boolean(o.quiesce) },
        });
        await ctx.accepted(a, `/v1/volume-snapshots/${enc(String(a.resource['id']))}`);
      }),
    );
  cmd
    .command('group')
    .description(
      'one consistent snapshot of several volumes of one VM: one freeze, one group per backend (job)',
    )
    .requiredOption('--name <name>', 'name of each snapshot')
    .argument('<volume...>', 'the volumes (at most 64)')
    .action(
      action(async (ctx, volumeIds: string[], o: { name: string }) => {
        const a = await ctx.client.request<Accepted>('POST', '/v1/volume-snapshots/group', {
          body: { volumeIds, name: o.name },
        });
        const snaps = (a.resource['snapshots'] as Array<{ id: string }> | undefined) ?? [];
        await ctx.acceptedMany(
          a,
          snaps.map((x) => `/v1/volume-snapshots/${enc(x.id)}`),
          SNAPSHOT_COLUMNS,
        );
      }),
    );
  cmd
    .command('size')
    .description('its size as its backend tells it (or why it cannot)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const s = await ctx.client.get<SnapshotSize>(`/v1/volume-snapshots/${enc(id)}/size`);
        if (ctx.json) return ctx.print(s);
        ctx.note(sizeText(s));
      }),
    );
  cmd
    .command('revert')
    .description('revert its volume to this snapshot (job; refused on a running VM)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/volume-snapshots/${enc(id)}/revert`),
          `/v1/volume-snapshots/${enc(id)}`,
        ),
      ),
    );
  return cmd;
}
