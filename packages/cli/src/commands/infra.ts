import type { Command } from 'commander';
import { action, type Accepted } from '../context.js';
import { col, humanBytes, parseIntArg, parseSize } from '../output.js';
import { enc, resource } from './resource.js';
import { storageTagsCommand, tagList } from './settings.js';

export function zones(): Command {
  const cmd = resource({
    name: 'zones',
    description: 'zones',
    path: '/v1/zones',
    remove: 'sync',
    columns: [col('id'), col('name'), col('created', 'createdAt')],
    filters: [['--name <name>', 'name', 'by name']],
  });
  cmd
    .command('create')
    .description('create a zone (admin)')
    .requiredOption('--name <name>', 'zone name')
    .action(
      action(async (ctx, o: { name: string }) =>
        ctx.one(await ctx.client.request('POST', '/v1/zones', { body: { name: o.name } })),
      ),
    );
  return cmd;
}

export function clusters(): Command {
  const cmd = resource({
    name: 'clusters',
    description: 'clusters of hosts',
    path: '/v1/clusters',
    remove: 'sync',
    columns: [col('id'), col('name'), col('zone', 'zoneId')],
    filters: [
      ['--zone <id>', 'zoneId', 'in this zone'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  cmd
    .command('create')
    .description('create a cluster (admin)')
    .requiredOption('--zone <id>', 'zone')
    .requiredOption('--name <name>', 'cluster name')
    .action(
      action(async (ctx, o: { zone: string; name: string }) =>
        ctx.one(await ctx.client.request('POST', '/v1/clusters', { body: { zoneId: o.zone, name: o.name } })),
      ),
    );
  return cmd;
}

export function hosts(): Command {
  const cmd = resource({
    name: 'hosts',
    description: 'KVM hosts (registered by their agents)',
    path: '/v1/hosts',
    remove: 'sync',
    columns: [
      col('id'),
      col('name'),
      col('state'),
      col('address'),
      col('cpus'),
      col('memory', (h) => humanBytes(h['memoryBytes'])),
      col('last seen', 'lastSeenAt'),
    ],
    filters: [
      ['--cluster <id>', 'clusterId', 'in this cluster'],
      ['--state <state>', 'state', 'in this state'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  cmd
    .command('maintenance')
    .description(
      'put a host into maintenance, its running VMs live-migrated away first, with progress (job); --off takes it out or cancels (admin)',
    )
    .argument('<id>')
    .option('--off', 'leave maintenance, or stop preparing it')
    .action(
      action(async (ctx, id: string, o: { off?: boolean }) =>
        o.off
          ? ctx.one(await ctx.client.request('DELETE', `/v1/hosts/${enc(id)}/maintenance`))
          : ctx.accepted(
              await ctx.client.request<Accepted>('POST', `/v1/hosts/${enc(id)}/maintenance`),
              `/v1/hosts/${enc(id)}`,
            ),
      ),
    );
  cmd
    .command('fence')
    .description(
      "cut a lost host (agent gone) off its VMs' disks once the reconnect grace has passed: tgt ACLs and connections, Ceph blocklist and caps; its VMs are Stopped and may start elsewhere (job, admin)",
    )
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.accepted(
          await ctx.client.request<Accepted>('POST', `/v1/hosts/${enc(id)}/fence`),
          `/v1/hosts/${enc(id)}`,
        ),
      ),
    );
  cmd
    .command('token')
    .description("a one-time registration token for a new host's agent, with the certificate to pin (admin)")
    .requiredOption('--cluster <id>', 'the cluster the host joins')
    .option('--ttl <seconds>', 'how long the token stays valid (60..604800)', parseIntArg, 3600)
    .action(
      action(async (ctx, o: { cluster: string; ttl: number }) =>
        ctx.one(
          await ctx.client.request<Record<string, unknown>>('POST', '/v1/hosts/registration-tokens', {
            body: { clusterId: o.cluster, ttlSeconds: o.ttl },
          }),
        ),
      ),
    );
  return cmd;
}

export function pools(): Command {
  const cmd = resource({
    name: 'pools',
    aliases: ['storage-pools'],
    description: 'storage pools',
    path: '/v1/storage-pools',
    remove: 'sync',
    columns: [
      col('id'),
      col('name'),
      col('provider'),
      col('scope'),
      col('state'),
      col('managed'),
      col('capacity', (p) => humanBytes(p['capacityBytes'])),
      col('used', (p) => humanBytes(p['usedBytes'])),
      col('iops', (p) => `${Number(p['usedMinIops'] ?? 0)}/${Number(p['capacityIops'] ?? 0)}`),
    ],
    filters: [
      ['--zone <id>', 'zoneId', 'in this zone'],
      ['--cluster <id>', 'clusterId', 'in this cluster'],
      ['--provider <type>', 'provider', 'qcow2, tgt or rbd'],
      ['--state <state>', 'state', 'in this state'],
      ['--name <name>', 'name', 'by name'],
    ],
  });
  cmd
    .command('create')
    .description('add a storage pool (admin)')
    .requiredOption('--name <name>', 'pool name')
    .requiredOption('--zone <id>', 'zone')
    .option('--cluster <id>', 'cluster (scope cluster)')
    .requiredOption('--provider <type>', 'driver: qcow2, tgt or rbd')
    .option('--scope <scope>', 'host, cluster or zone', 'zone')
    .option('--managed', 'one backend volume per virtual disk', false)
    .requiredOption('--url <url>', 'where the storage is')
    .requiredOption('--capacity <size>', 'capacity (10G, 2T, bytes)', parseSize)
    .option('--capacity-iops <n>', 'IOPS the pool guarantees (admission)', parseIntArg, 0)
    .option('--detail <key=value...>', 'driver details (repeatable)')
    .option('--storage-tag <tag...>', 'storage tags disk offerings may require (repeatable)')
    .action(
      action(
        async (
          ctx,
          o: {
            name: string;
            zone: string;
            cluster?: string;
            provider: string;
            scope: string;
            managed: boolean;
            url: string;
            capacity: number;
            capacityIops: number;
            detail?: string[];
            storageTag?: string[];
          },
        ) => {
          const details = Object.fromEntries(
            (o.detail ?? []).map((d) => {
              const i = d.indexOf('=');
              return i < 0 ? [d, ''] : [d.slice(0, i), d.slice(i + 1)];
            }),
          );
          ctx.one(
            await ctx.client.request('POST', '/v1/storage-pools', {
              body: {
                name: o.name,
                zoneId: o.zone,
                clusterId: o.cluster ?? null,
                provider: o.provider,
                scope: o.scope,
                managed: o.managed,
                url: o.url,
                capacityBytes: o.capacity,
                capacityIops: o.capacityIops,
                details,
                ...(o.storageTag ? { storageTags: tagList(o.storageTag) } : {}),
              },
            }),
          );
        },
      ),
    );
  storageTagsCommand(cmd, '/v1/storage-pools');
  cmd
    .command('maintenance')
    .description('put a pool into maintenance, or --off to take it out (admin)')
    .argument('<id>')
    .option('--off', 'leave maintenance')
    .action(
      action(async (ctx, id: string, o: { off?: boolean }) =>
        ctx.one(
          await ctx.client.request(o.off ? 'DELETE' : 'POST', `/v1/storage-pools/${enc(id)}/maintenance`),
        ),
      ),
    );
  return cmd;
}
