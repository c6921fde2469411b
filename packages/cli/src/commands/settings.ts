import type { Command } from 'commander';
import { action } from '../context.js';
import { enc } from './resource.js';

/**
 * Settings changed in place: display names of VMs and volumes, storage tags of pools and disk
 * offerings (their volumes go only to pools carrying every tag of the offering).
 */
export function displayNameCommand(cmd: Command, path: string): void {
  cmd
    .command('set-display-name')
    .description('change the display name shown beside the name ("" shows the name)')
    .argument('<id>')
    .argument('<text>')
    .action(
      action(async (ctx, id: string, text: string) =>
        ctx.one(await ctx.client.request('PATCH', `${path}/${enc(id)}`, { body: { displayName: text } })),
      ),
    );
}

export function storageTagsCommand(cmd: Command, path: string): void {
  cmd
    .command('set-storage-tags')
    .description('replace the storage tags (none given: no tags) (admin)')
    .argument('<id>')
    .argument('[tags...]')
    .action(
      action(async (ctx, id: string, tags: string[]) =>
        ctx.one(await ctx.client.request('PATCH', `${path}/${enc(id)}`, { body: { storageTags: tags } })),
      ),
    );
}

/** `--storage-tag` values (repeatable, or comma-separated as CloudStack writes them). */
export function tagList(values: readonly string[] | undefined): string[] | undefined {
  return values
    ?.flatMap((v) => v.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
