import { StrataError } from '@strata/core';
import type { Caller, CloudStackServices, ListQuery, PartialServices, Started } from './deps.js';
import type { ParamSchema, Parsed } from './params.js';
import type { CsObject } from './serialize.js';

export interface CommandContext {
  readonly caller: Caller;
  readonly params: Parsed;
  readonly services: PartialServices;
  readonly version: string;
}

/** What a handler answers: a plain body, or a started job (CloudStack replies `{jobid, id}`). */
export type CommandResult =
  { readonly kind: 'body'; readonly body: CsObject } | { readonly kind: 'job'; readonly started: Started };

/**
 * One CloudStack command: its parameters, whether it is asynchronous, and the handler that
 * translates it into a service call. `responseName` is the wrapper key (`<command>response` unless
 * CloudStack spells it otherwise).
 */
export interface Command {
  readonly name: string;
  readonly description: string;
  readonly isAsync: boolean;
  readonly params: ParamSchema;
  readonly responseName?: string;
  /** Element name of one item, for list commands and listApis' response description. */
  readonly entity?: string;
  readonly handler: (ctx: CommandContext) => Promise<CommandResult>;
}

/**
 * Reads change nothing, so their signatures may be sent again (cs polls queryAsyncJobResult with
 * byte-identical requests within a second); every other command changes state.
 */
export function isStateChanging(cmd: Command): boolean {
  return !/^(list|query)/.test(cmd.name);
}

export function responseNameOf(cmd: Command): string {
  return cmd.responseName ?? `${cmd.name.toLowerCase()}response`;
}

/** The service group a handler needs, or UNAVAILABLE naming it when this server has none. */
export function need<K extends keyof CloudStackServices>(ctx: CommandContext, key: K): CloudStackServices[K] {
  const svc = ctx.services[key];
  if (!svc)
    throw new StrataError('UNAVAILABLE', {
      what: `the ${key} service`,
      reason: 'not part of this server yet',
    });
  return svc;
}

export const PAGE_PARAMS: ParamSchema = {
  page: { type: 'integer', description: 'page number, from 1' },
  pagesize: { type: 'integer', description: 'items per page (at most 500)' },
};

/** Builds the service list query from CloudStack's page/pagesize and the given filters. */
export function listQuery(p: Parsed, filter: Record<string, string | undefined>): ListQuery {
  const page = typeof p['page'] === 'number' ? Math.max(1, p['page']) : 1;
  const size = typeof p['pagesize'] === 'number' ? p['pagesize'] : 500;
  const tags = tagRows(p['tags']);
  return { page, pageSize: Math.min(Math.max(size, 1), 500), filter, ...(tags.length > 0 ? { tags } : {}) };
}

/** `tags[i].key` / `tags[i].value` rows; a row without a key is no tag. */
export function tagRows(v: Parsed[string]): Array<{ key: string; value: string }> {
  if (!Array.isArray(v)) return [];
  return (v as ReadonlyArray<Readonly<Record<string, string>>>)
    .filter((r) => typeof r['key'] === 'string' && r['key'] !== '')
    .map((r) => ({ key: r['key'] ?? '', value: r['value'] ?? '' }));
}

/** The `tags` filter parameter of list commands. */
export const TAGS_PARAM: ParamSchema = {
  tags: {
    type: 'map',
    description: 'only resources with every one of these tags: tags[0].key=k&tags[0].value=v',
  },
};

/** CloudStack's list answer: `{count, <entity>: [...]}`, and `{}` when nothing matched, as CloudStack does. */
export function listBody(entity: string, total: number, items: readonly CsObject[]): CommandResult {
  return { kind: 'body', body: items.length === 0 && total === 0 ? {} : { count: total, [entity]: items } };
}

export const body = (b: CsObject): CommandResult => ({ kind: 'body', body: b });
export const job = (started: Started): CommandResult => ({ kind: 'job', started });
