import { Command } from 'commander';
import { action } from '../context.js';

type Rotation = {
  keyId: string;
  previousKeyId: string;
  resealed: { apiKeys: number; pools: number };
  removedKeyIds: string[];
};

/** `strata secrets rotate`: the server's at-rest key (admin; docs/security.md). */
export function secrets(): Command {
  const cmd = new Command('secrets').description('secrets at rest (admin)');
  cmd
    .command('rotate')
    .description('seal every stored secret with a new key, then drop the old key file')
    .action(
      action(async (ctx) => {
        const r = await ctx.client.request<Rotation>('POST', '/v1/admin/secrets/rotate');
        if (ctx.json) return ctx.print(r);
        process.stdout.write(
          `key ${r.previousKeyId} replaced by ${r.keyId}; sealed again: API keys ${r.resealed.apiKeys}, pools ${r.resealed.pools}` +
            `${r.removedKeyIds.length ? `; removed key files ${r.removedKeyIds.join(', ')}` : ''}\n`,
        );
      }),
    );
  return cmd;
}
