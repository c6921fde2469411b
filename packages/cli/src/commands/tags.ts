import { Command, InvalidArgumentError } from 'commander';
import { action } from '../context.js';
import { col } from '../output.js';

const COLUMNS = [col('resourceType'), col('resourceId'), col('key'), col('value')];

/** `key=value` (the value may hold further `=`); a bare key for removal. */
function keyValue(raw: string, previous: Array<{ key: string; value?: string }> = []) {
  const i = raw.indexOf('=');
  const key = i < 0 ? raw : raw.slice(0, i);
  if (key === '') throw new InvalidArgumentError('a tag is key=value');
  return [...previous, i < 0 ? { key } : { key, value: raw.slice(i + 1) }];
}

/** `strata tags`: key/value labels on VMs, volumes and their snapshots. */
export function tags(): Command {
  const cmd = new Command('tags').description('resource tags (vm, volume, volume-snapshot, vm-snapshot)');
  cmd
    .command('list')
    .description('list the tags of the resources you can see')
    .option('--type <type>', 'vm, volume, volume-snapshot or vm-snapshot')
    .option('--resource <id>', 'one resource')
    .option('--key <key>', 'by key')
    .option('--value <value>', 'by value')
    .action(
      action(async (ctx, o: { type?: string; resource?: string; key?: string; value?: string }) => {
        const page = await ctx.client.get<{ items: Record<string, unknown>[] }>('/v1/tags', {
          resourceType: o.type,
          resourceId: o.resource,
          key: o.key,
          value: o.value,
        });
        ctx.list(page, COLUMNS);
      }),
    );
  cmd
    .command('add <type> <ids...>')
    .description('tag resources: --tag key=value (repeatable; a key set again takes the new value)')
    .requiredOption('--tag <key=value>', 'a tag', keyValue)
    .action(
      action(async (ctx, type: string, ids: string[], o: { tag: Array<{ key: string; value?: string }> }) => {
        if (o.tag.some((t) => t.value === undefined))
          throw new InvalidArgumentError('a tag to add is key=value');
        const out = await ctx.client.request<{ items: Record<string, unknown>[] }>('POST', '/v1/tags', {
          body: { resourceType: type, resourceIds: ids, tags: o.tag },
        });
        ctx.list(out, COLUMNS);
      }),
    );
  cmd
    .command('remove <type> <ids...>')
    .description('remove tags: --tag key or key=value (repeatable); none: every tag of the resources')
    .option('--tag <key[=value]>', 'a tag', keyValue)
    .action(
      action(
        async (ctx, type: string, ids: string[], o: { tag?: Array<{ key: string; value?: string }> }) => {
          const out = await ctx.client.request<{ removed: number }>('POST', '/v1/tags/delete', {
            body: { resourceType: type, resourceIds: ids, ...(o.tag ? { tags: o.tag } : {}) },
          });
          ctx.one(out);
        },
      ),
    );
  return cmd;
}
