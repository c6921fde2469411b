import { Command } from 'commander';
import { action } from '../context.js';
import type { Column } from '../output.js';
import { parseIntArg } from '../output.js';

/** A filter flag of a list command and the query parameter it sets. */
export type Filter = readonly [flags: string, param: string, description: string];

export interface ResourceDef {
  readonly name: string;
  readonly description: string;
  readonly path: string;
  readonly columns: readonly Column[];
  readonly filters?: readonly Filter[];
  readonly aliases?: readonly string[];
  /**
   * The end state of a deleted record (snapshots' `Removed`, `Deleted`): a list leaves those out
   * (the API's `live=true`) unless given `--all` or a `--state`, as CloudStack's lists do.
   */
  readonly gone?: string;
  /** How delete answers: at once (204/200), as a job (202), or not offered. */
  readonly remove?: 'sync' | 'job' | false;
}

export const enc = encodeURIComponent;

/** `<name> list|get|delete` for one REST collection; callers add create and actions. */
export function resource(def: ResourceDef): Command {
  const cmd = new Command(def.name).description(def.description);
  for (const a of def.aliases ?? []) cmd.alias(a);
  const list = cmd
    .command('list')
    .alias('ls')
    .description(`list ${def.name}`)
    .option('--limit <n>', 'items per page (1-500)', parseIntArg)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--total', 'also count every match');
  for (const [flags, , description] of def.filters ?? []) list.option(flags, description);
  if (def.gone) list.option('--all', `also the ${def.gone} ones`);
  list.action(
    action(async (ctx, opts: Record<string, string | number | boolean | undefined>) => {
      const query: Record<string, string | number | boolean | undefined> = {
        limit: opts['limit'],
        cursor: opts['cursor'],
      };
      if (opts['total']) query['total'] = true;
      for (const [flags, param] of def.filters ?? []) {
        const key = camel(/--([a-z-]+)/.exec(flags)?.[1] ?? param);
        query[param] = opts[key];
      }
      if (def.gone && !opts['all'] && opts['state'] === undefined) query['live'] = true;
      ctx.list(await ctx.client.get(def.path, query), def.columns);
    }),
  );
  cmd
    .command('get')
    .alias('show')
    .description(`show one of ${def.name}`)
    .argument('<id>')
    .action(action(async (ctx, id: string) => ctx.one(await ctx.client.get(`${def.path}/${enc(id)}`))));
  if (def.remove) {
    const remove = def.remove;
    cmd
      .command('delete')
      .alias('rm')
      .description(`delete one of ${def.name}`)
      .argument('<id>')
      .action(
        action(async (ctx, id: string) => {
          const res = await ctx.client.request<unknown>('DELETE', `${def.path}/${enc(id)}`);
          if (remove === 'job' && res && typeof res === 'object' && 'job' in res)
            return ctx.accepted(res as never, null);
          if (ctx.json) ctx.print(res ?? { deleted: id });
          else ctx.one(res && typeof res === 'object' ? (res as Record<string, unknown>) : { deleted: id });
        }),
      );
  }
  return cmd;
}

export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
