import { Command } from 'commander';
import { action } from '../context.js';
import { col, humanBytes, parseSize } from '../output.js';
import { enc } from './resource.js';

const BYTES = 'primary-storage-bytes';

/** A limit as people read it: unlimited, or a size for the storage limit. */
const shown = (kind: unknown, value: unknown): unknown =>
  value === -1 ? 'unlimited' : kind === BYTES ? humanBytes(value) : value;

/** `-1` or `unlimited` lifts a limit; the storage limit takes sizes (10G), the rest whole numbers. */
export function parseLimit(kind: string, text: string): number {
  if (text === '-1' || text === 'unlimited') return -1;
  if (kind === BYTES) return parseSize(text);
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a whole number, -1 or unlimited`);
  return Number(text);
}

/** `strata accounts limits`: an account's quotas and what it uses. */
export function accountLimits(): Command {
  const cmd = new Command('limits').description("an account's resource limits (quotas) and usage");
  cmd
    .command('list')
    .alias('ls')
    .description("list an account's limits and usage")
    .argument('<account>', 'the account id')
    .option('--kind <kind>', 'vm, volume, volume-snapshot, vm-snapshot, primary-storage-bytes or min-iops')
    .action(
      action(async (ctx, account: string, o: { kind?: string }) =>
        ctx.list(await ctx.client.get(`/v1/accounts/${enc(account)}/limits`, { kind: o.kind }), [
          col('kind'),
          col('max', (r) => shown(r['kind'], r['max'])),
          col('used', (r) => shown(r['kind'], r['used'])),
        ]),
      ),
    );
  cmd
    .command('set')
    .description('set one limit of an account (admin); -1 or unlimited lifts it')
    .argument('<account>', 'the account id')
    .argument('<kind>', 'vm, volume, volume-snapshot, vm-snapshot, primary-storage-bytes or min-iops')
    .argument('<max>', 'the limit: a number, a size for primary-storage-bytes (100G), or -1')
    .action(
      action(async (ctx, account: string, kind: string, max: string) =>
        ctx.one(
          await ctx.client.request('PUT', `/v1/accounts/${enc(account)}/limits/${enc(kind)}`, {
            body: { max: parseLimit(kind, max) },
          }),
        ),
      ),
    );
  return cmd;
}
