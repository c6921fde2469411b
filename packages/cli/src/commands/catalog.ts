import type { Command } from 'commander';
import { action } from '../context.js';
import { col, humanBytes, parseIntArg, parseSize } from '../output.js';
import { resource } from './resource.js';
import { storageTagsCommand, tagList } from './settings.js';

const qosText = (q: unknown): string | null => {
  const qos = q as { minIops?: number; maxIops?: number; burstIops?: number } | null;
  return qos ? `${String(qos.minIops)}/${String(qos.maxIops)}/${String(qos.burstIops)}` : null;
};

export function offerings(): Command {
  const cmd = resource({
    name: 'offerings',
    aliases: ['disk-offerings'],
    description: 'disk offerings (size and QoS)',
    path: '/v1/disk-offerings',
    remove: 'sync',
    columns: [
      col('id'),
      col('name'),
      col('size', (o) => (o['customSize'] ? 'custom' : humanBytes(o['sizeBytes']))),
      col('iops min/max/burst', (o) => qosText(o['qos'])),
      col('custom iops', 'customIops'),
      col('reserve %', 'hypervisorSnapshotReserve'),
      col('storage tags', (o) => (o['storageTags'] as string[] | undefined)?.join(',') ?? ''),
    ],
    filters: [['--name <name>', 'name', 'by name']],
  });
  cmd
    .command('create')
    .description('create a disk offering (admin)')
    .requiredOption('--name <name>', 'offering name')
    .option('--size <size>', 'fixed size (10G); absent: custom size', parseSize)
    .option('--min-iops <n>', 'minimum IOPS', parseIntArg)
    .option('--max-iops <n>', 'maximum IOPS', parseIntArg)
    .option('--burst-iops <n>', 'burst IOPS', parseIntArg)
    .option('--burst-seconds <n>', 'burst length', parseIntArg)
    .option('--custom-iops', 'IOPS given per volume')
    .option('--snapshot-reserve <percent>', 'hypervisor snapshot reserve', parseIntArg)
    .option('--storage-tag <tag...>', 'storage tags its volumes need of a pool (repeatable)')
    .action(
      action(
        async (
          ctx,
          o: {
            name: string;
            size?: number;
            minIops?: number;
            maxIops?: number;
            burstIops?: number;
            burstSeconds?: number;
            customIops?: boolean;
            snapshotReserve?: number;
            storageTag?: string[];
          },
        ) => {
          const qos =
            o.minIops !== undefined || o.maxIops !== undefined
              ? {
                  minIops: o.minIops ?? 0,
                  maxIops: o.maxIops ?? o.minIops ?? 0,
                  ...(o.burstIops !== undefined ? { burstIops: o.burstIops } : {}),
                  ...(o.burstSeconds !== undefined ? { burstSeconds: o.burstSeconds } : {}),
                }
              : null;
          ctx.one(
            await ctx.client.request('POST', '/v1/disk-offerings', {
              body: {
                name: o.name,
                sizeBytes: o.size ?? null,
                customSize: o.size === undefined,
                qos,
                customIops: Boolean(o.customIops),
                ...(o.snapshotReserve !== undefined ? { hypervisorSnapshotReserve: o.snapshotReserve } : {}),
                ...(o.storageTag ? { storageTags: tagList(o.storageTag) } : {}),
              },
            }),
          );
        },
      ),
    );
  storageTagsCommand(cmd, '/v1/disk-offerings');
  return cmd;
}

export function templates(): Command {
  const cmd = resource({
    name: 'templates',
    description: 'templates (base images of VMs)',
    path: '/v1/templates',
    remove: 'sync',
    columns: [
      col('id'),
      col('name'),
      col('format'),
      col('size', (t) => humanBytes(t['sizeBytes'])),
      col('path'),
    ],
    filters: [
      ['--name <name>', 'name', 'by name'],
      ['--format <format>', 'format', 'qcow2 or raw'],
    ],
  });
  cmd
    .command('create')
    .description('register a base image (admin)')
    .requiredOption('--name <name>', 'template name')
    .requiredOption('--path <path>', 'image file on the hosts')
    .option('--format <format>', 'qcow2 or raw', 'qcow2')
    .requiredOption('--size <size>', 'virtual size', parseSize)
    .action(
      action(async (ctx, o: { name: string; path: string; format: string; size: number }) =>
        ctx.one(
          await ctx.client.request('POST', '/v1/templates', {
            body: { name: o.name, path: o.path, format: o.format, sizeBytes: o.size },
          }),
        ),
      ),
    );
  return cmd;
}
