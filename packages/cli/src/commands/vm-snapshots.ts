import type { Command } from 'commander';
import { action, type Accepted } from '../context.js';
import { col, durationMs, humanBytes, sizeText, type SnapshotSize } from '../output.js';
import { enc, resource } from './resource.js';

export function vmSnapshots(): Command {
  const cmd = resource({
    name: 'vm-snapshots',
    description: 'VM snapshots: every disk of a VM at one consistent point',
    path: '/v1/vm-snapshots',
    remove: 'job',
    gone: 'Removed',
    columns: [
      col('id'),
      col('name'),
      col('vm', 'vmId'),
      col('state'),
      col('type'),
      col('current'),
      col('consistency'),
      col('freeze ms', (s) => durationMs(s['freezeMs'])),
      col('strategy'),
      col('parent', 'parentId'),
    ],
    filters: [
      ['--vm <id>', 'vmId', 'of this VM'],
      ['--state <state>', 'state', 'in this state'],
      ['--name <name>', 'name', 'by name'],
      ['--parent <id>', 'parentId', 'children of this snapshot'],
    ],
  });
  cmd
    .command('create')
    .description('snapshot a VM across all its disks (job)')
    .requiredOption('--vm <id>', 'the VM')
    .requiredOption('--name <name>', 'snapshot name (unique per VM)')
    .option('--description <text>', 'free text')
    .option('--memory', 'include memory (running VMs)')
    .option('--quiesce <mode>', 'auto, guest, hypervisor, pause or none', 'auto')
    .action(
      action(
        async (
          ctx,
          o: { vm: string; name: string; description?: string; memory?: boolean; quiesce: string },
        ) => {
          const a = await ctx.client.request<Accepted>('POST', '/v1/vm-snapshots', {
            body: {
              vmId: o.vm,
              name: o.name,
              ...(o.description ? { description: o.description } : {}),
              snapshotMemory: Boolean(o.memory),
              quiesce: o.quiesce,
            },
          });
          await ctx.accepted(a, `/v1/vm-snapshots/${enc(String(a.resource['id']))}`);
        },
      ),
    );
  cmd
    .command('revert')
    .description('revert the VM to this snapshot (job); a running VM needs --restart')
    .argument('<id>')
    .option('--restart', 'stop a running VM for the revert and start it again afterwards')
    .action(
      action(async (ctx, id: string, o: { restart?: boolean }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/vm-snapshots/${enc(id)}/revert`, {
            ...(o.restart ? { query: { restart: true } } : {}),
          }),
          `/v1/vm-snapshots/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('size')
    .description("its size: each disk part's as its backend tells it (or why it cannot), and their sum")
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const s = await ctx.client.get<SnapshotSize & { parts: Array<Record<string, unknown>> }>(
          `/v1/vm-snapshots/${enc(id)}/size`,
        );
        if (ctx.json) return ctx.print(s);
        ctx.list({ items: s.parts }, SIZE_COLUMNS);
        ctx.note(`total: ${sizeText(s)}`);
      }),
    );
  cmd
    .command('explain')
    .description("every strategy's answer and reason for a VM and request, and the one chosen")
    .requiredOption('--vm <id>', 'the VM')
    .option('--operation <op>', 'take, revert or delete', 'take')
    .option('--quiesce <mode>', 'auto, guest, hypervisor, pause or none', 'auto')
    .option('--memory', 'a snapshot with memory')
    .option('--taken-by <strategy>', 'for revert and delete: the strategy that took the snapshot')
    .action(
      action(
        async (
          ctx,
          o: { vm: string; operation: string; quiesce: string; memory?: boolean; takenBy?: string },
        ) => {
          const answer = await ctx.client.get<Record<string, unknown>>(
            `/v1/vms/${enc(o.vm)}/snapshot-strategies`,
            {
              operation: o.operation,
              quiesce: o.quiesce,
              memory: o.memory ? 'true' : undefined,
              takenBy: o.takenBy,
            },
          );
          if (ctx.json) return ctx.print(answer);
          const rows = (answer['explanation'] as Array<Record<string, unknown>> | undefined) ?? [];
          ctx.list({ items: rows }, EXPLAIN_COLUMNS);
          const text = (v: unknown) => (typeof v === 'string' ? v : 'none');
          ctx.note(`chosen: ${text(answer['chosen'])} (quiesce ${text(answer['quiesce'])})`);
        },
      ),
    );
  return cmd;
}

const SIZE_COLUMNS = [
  col('volume snapshot', 'volumeSnapshotId'),
  col('volume', 'volumeId'),
  col('size', (p) => (p['size'] === null ? 'unknown' : humanBytes(p['size']))),
  col('note', 'sizeNote'),
];

const EXPLAIN_COLUMNS = [
  col('strategy'),
  col('priority'),
  col('chosen', (r) => (r['chosen'] ? '*' : '')),
  col('reason'),
];
