import type { Command } from 'commander';
import { action, type Accepted, type Context } from '../context.js';
import { col, humanBytes, parseIntArg, parseSize } from '../output.js';
import { enc, resource } from './resource.js';
import { displayNameCommand } from './settings.js';

export function vms(): Command {
  const cmd = resource({
    name: 'vms',
    description: 'virtual machines',
    path: '/v1/vms',
    remove: 'job',
    columns: [
      col('id'),
      col('name'),
      col('display name', 'displayName'),
      col('state'),
      col('host', 'hostId'),
      col('cpus'),
      col('memory', (v) => humanBytes(v['memoryBytes'])),
      col('current snapshot', 'currentVmSnapshotId'),
    ],
    filters: [
      ['--state <state>', 'state', 'in this state'],
      ['--host <id>', 'hostId', 'on this host'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  cmd
    .command('create')
    .description('create a VM (Stopped) from a template')
    .requiredOption('--name <name>', 'VM name')
    .option('--template <id>', 'template (base image)')
    .option('--host <id>', 'host to run on (admins; default: placement chooses)')
    .option('--cpus <n>', 'vCPUs', parseIntArg)
    .option('--memory <size>', 'memory (128M, 1G)', parseSize)
    .action(
      action(
        async (ctx, o: { name: string; template?: string; host?: string; cpus?: number; memory?: number }) =>
          ctx.one(
            await ctx.client.request('POST', '/v1/vms', {
              body: {
                name: o.name,
                templateId: o.template ?? null,
                hostId: o.host ?? null,
                ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
                ...(o.memory !== undefined ? { memoryBytes: o.memory } : {}),
              },
            }),
          ),
      ),
    );
  displayNameCommand(cmd, '/v1/vms');
  cmd
    .command('deploy')
    .description('deploy a VM from a template: ROOT volume cloned by its pool, then started (job)')
    .requiredOption('--name <name>', 'VM name')
    .requiredOption('--template <id>', 'template (base image)')
    .option('--pool <id>', 'pool of the ROOT volume (default: the first qcow2 pool that is Up)')
    .option('--host <id>', 'host to run on (admins; default: placement chooses)')
    .option('--cpus <n>', 'vCPUs', parseIntArg)
    .option('--memory <size>', 'memory (128M, 1G)', parseSize)
    .option('--root-size <size>', "ROOT volume size (default: the template's)", parseSize)
    .option('--no-start', 'leave it Stopped')
    .action(action(async (ctx, o: DeployOptions) => deploy(ctx, o)));
  cmd
    .command('start')
    .description('start a VM (job) on the host placement chooses')
    .argument('<id>')
    .option('--host <id>', 'the host to run on instead (admins)')
    .action(
      action(async (ctx, id: string, o: { host?: string }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/vms/${enc(id)}/start`, {
            body: o.host ? { hostId: o.host } : {},
          }),
          `/v1/vms/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('migrate')
    .description('live-migrate a running VM to another host, with progress (job, admins)')
    .argument('<id>')
    .option('--host <id>', 'the destination (default: the host placement chooses)')
    .action(
      action(async (ctx, id: string, o: { host?: string }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/vms/${enc(id)}/migrate`, {
            body: o.host ? { hostId: o.host } : {},
          }),
          `/v1/vms/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('stop')
    .description('stop a VM: graceful, then forced (job)')
    .argument('<id>')
    .option('--force', 'power off at once')
    .action(
      action(async (ctx, id: string, o: { force?: boolean }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/vms/${enc(id)}/stop`, {
            body: { forced: Boolean(o.force) },
          }),
          `/v1/vms/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('destroy')
    .description('destroy a VM (job): recoverable until its retention ends, or at once with --expunge')
    .argument('<id>')
    .option('--expunge', 'also remove its ROOT volume, snapshots and definition now')
    .action(
      action(async (ctx, id: string, o: { expunge?: boolean }) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('DELETE', `/v1/vms/${enc(id)}`, {
            query: { expunge: Boolean(o.expunge) },
          }),
          `/v1/vms/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('recover')
    .description('bring a Destroyed VM back (Stopped)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.one(await ctx.client.request('POST', `/v1/vms/${enc(id)}/recover`)),
      ),
    );
  cmd
    .command('expunge')
    .description('expunge a Destroyed VM now (job)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/vms/${enc(id)}/expunge`),
          `/v1/vms/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('snapshot-tree')
    .alias('tree')
    .description("show a VM's snapshot tree, marking the current one")
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const tree = await ctx.client.get<{ currentId: string | null; roots: Node[] }>(
          `/v1/vms/${enc(id)}/snapshot-tree`,
        );
        if (ctx.json) return ctx.print(tree);
        const lines: string[] = [];
        const walk = (n: Node, depth: number) => {
          lines.push(
            `${'  '.repeat(depth)}${n.id === tree.currentId ? '* ' : '- '}${n.name} (${n.id}) ${n.state}${n.consistency ? ` ${n.consistency}` : ''}`,
          );
          for (const c of n.children ?? []) walk(c, depth + 1);
        };
        for (const r of tree.roots) walk(r, 0);
        process.stdout.write((lines.length ? lines.join('\n') : '(no snapshots)') + '\n');
      }),
    );
  return cmd;
}

interface Node {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly consistency?: string | null;
  readonly children?: Node[];
}

interface DeployOptions {
  readonly name: string;
  readonly template: string;
  readonly pool?: string;
  readonly host?: string;
  readonly cpus?: number;
  readonly memory?: number;
  readonly rootSize?: number;
  readonly start: boolean;
}

async function deploy(ctx: Context, o: DeployOptions): Promise<void> {
  const a = await ctx.client.request<Accepted>('POST', '/v1/vms/deploy', {
    body: {
      name: o.name,
      templateId: o.template,
      start: o.start,
      ...(o.pool !== undefined && { poolId: o.pool }),
      ...(o.host !== undefined && { hostId: o.host }),
      ...(o.cpus !== undefined && { cpus: o.cpus }),
      ...(o.memory !== undefined && { memoryBytes: o.memory }),
      ...(o.rootSize !== undefined && { rootSizeBytes: o.rootSize }),
    },
  });
  await ctx.accepted(a, `/v1/vms/${enc(String(a.resource['id']))}`);
}
