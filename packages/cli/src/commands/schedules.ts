import { Command, InvalidArgumentError } from 'commander';
import { action } from '../context.js';
import { col } from '../output.js';
import { enc } from './resource.js';

const COLUMNS = [
  col('id'),
  col('kind'),
  col('targetId'),
  col('intervalType'),
  col('schedule'),
  col('timezone'),
  col('maxSnaps'),
  col('enabled'),
  col('nextRunAt'),
  col('lastError'),
];

function count(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
}

function kindOf(raw: string): string {
  if (raw !== 'volume' && raw !== 'vm') throw new InvalidArgumentError('volume or vm');
  return raw;
}

/** `strata schedules`: recurring volume snapshots and VM snapshots, with how many to keep. */
export function schedules(): Command {
  const cmd = new Command('schedules').description('snapshot schedules (recurring volume or VM snapshots)');
  cmd
    .command('list')
    .description('list the snapshot schedules you can see')
    .option('--kind <kind>', 'volume or vm', kindOf)
    .option('--target <id>', 'of one volume or VM')
    .action(
      action(async (ctx, o: { kind?: string; target?: string }) => {
        ctx.list(
          await ctx.client.get<{ items: Record<string, unknown>[] }>('/v1/snapshot-schedules', {
            kind: o.kind,
            targetId: o.target,
          }),
          COLUMNS,
        );
      }),
    );
  cmd
    .command('create <kind> <id>')
    .description(
      'snapshot a volume or a VM on a schedule: --interval HOURLY (--at MM), DAILY (MM:HH), ' +
        'WEEKLY (MM:HH:DD, DD 1-7 from Sunday) or MONTHLY (MM:HH:DD, DD 1-28)',
    )
    .requiredOption('--interval <type>', 'HOURLY, DAILY, WEEKLY or MONTHLY')
    .requiredOption('--at <schedule>', "the slot in CloudStack's format (see above)")
    .option('--timezone <zone>', 'an IANA time zone', 'UTC')
    .requiredOption('--keep <n>', 'how many of its snapshots to keep', count)
    .action(
      action(
        async (
          ctx,
          kind: string,
          id: string,
          o: { interval: string; at: string; timezone: string; keep: number },
        ) => {
          ctx.one(
            await ctx.client.request<Record<string, unknown>>('POST', '/v1/snapshot-schedules', {
              body: {
                kind: kindOf(kind),
                targetId: id,
                intervalType: o.interval.toUpperCase(),
                schedule: o.at,
                timezone: o.timezone,
                maxSnaps: o.keep,
              },
            }),
          );
        },
      ),
    );
  cmd
    .command('update <id>')
    .description('change the slot, time zone or retention; pause or resume')
    .option('--at <schedule>', 'the new slot')
    .option('--timezone <zone>', 'the new time zone')
    .option('--keep <n>', 'how many to keep', count)
    .option('--pause', 'stop running it')
    .option('--resume', 'run it again')
    .action(
      action(
        async (
          ctx,
          id: string,
          o: { at?: string; timezone?: string; keep?: number; pause?: boolean; resume?: boolean },
        ) => {
          if (o.pause && o.resume) throw new InvalidArgumentError('--pause or --resume, not both');
          const body = {
            ...(o.at !== undefined && { schedule: o.at }),
            ...(o.timezone !== undefined && { timezone: o.timezone }),
            ...(o.keep !== undefined && { maxSnaps: o.keep }),
            ...(o.pause && { enabled: false }),
            ...(o.resume && { enabled: true }),
          };
          ctx.one(
            await ctx.client.request<Record<string, unknown>>('PATCH', `/v1/snapshot-schedules/${enc(id)}`, {
              body,
            }),
          );
        },
      ),
    );
  cmd
    .command('delete <id>')
    .description('delete a schedule (the snapshots it made stay)')
    .action(
      action(async (ctx, id: string) => {
        await ctx.client.request('DELETE', `/v1/snapshot-schedules/${enc(id)}`);
        ctx.note(`deleted ${id}`);
        if (ctx.json) ctx.print({ deleted: id });
      }),
    );
  return cmd;
}
