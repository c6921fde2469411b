import { errorRegistry } from '@strata/core';
import type { Command } from 'commander';
import { ApiClient, CliError } from './client.js';
import { configPath, loadConfig, resolveProfile } from './config.js';
import { followJob, type JobRow } from './follow.js';
import { col, record, table, type Column, type OutputFormat } from './output.js';

/** Options every command inherits from `strata` itself. */
export interface Globals {
  readonly profile?: string;
  readonly endpoint?: string;
  readonly apiKey?: string;
  readonly secretKey?: string;
  readonly output: OutputFormat;
  readonly wait: boolean;
  readonly progress: boolean;
  readonly timeout: string;
}

export const JOB_COLUMNS: readonly Column[] = [
  col('id'),
  col('type'),
  col('state'),
  col('progress', (j) => `${Number(j['progressPct'] ?? 0)}%`),
  col('resource', (j) =>
    typeof j['resourceId'] === 'string'
      ? `${typeof j['resourceType'] === 'string' ? j['resourceType'] : '?'}/${j['resourceId']}`
      : null,
  ),
  col('error', (j) => (j['error'] as { code?: string } | null)?.code),
];

export interface Accepted {
  readonly job: JobRow;
  readonly resource: Record<string, unknown>;
}

/** What an action works with: the signed client and the printer for the chosen format. */
export class Context {
  constructor(
    readonly client: ApiClient,
    readonly globals: Globals,
    private readonly out: (text: string) => void = (t) => process.stdout.write(t + '\n'),
  ) {}

  get json(): boolean {
    return this.globals.output === 'json';
  }

  print(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  list(
    page: { items: readonly Record<string, unknown>[]; nextCursor?: string | null; total?: number },
    columns: readonly Column[],
  ): void {
    if (this.json) return this.print(page);
    this.out(page.items.length ? table(page.items, columns) : '(none)');
    if (page.nextCursor) this.out(`(more: --cursor ${page.nextCursor})`);
  }

  /** A line of text for people (tables' footnotes); JSON output carries the same facts itself. */
  note(text: string): void {
    if (!this.json) this.out(text);
  }

  one(row: Record<string, unknown>): void {
    if (this.json) return this.print(row);
    this.out(record(row));
  }

  /**
   * A 202 answer: unless --no-wait, follows the job with a progress bar, then shows the resource
   * as it is now (`refetch`), or the finished job when the resource is gone.
   */
  async accepted(a: Accepted, refetch: string | null): Promise<void> {
    if (!this.globals.wait) {
      if (this.json) return this.print(a);
      this.out(table([a.job as unknown as Record<string, unknown>], JOB_COLUMNS));
      return;
    }
    const timeoutMs = Number(this.globals.timeout) * 1000;
    const done = await followJob(this.client, a.job, { progress: this.globals.progress, timeoutMs });
    if (refetch) return this.one(await this.client.get<Record<string, unknown>>(refetch));
    if (this.json) return this.print(done);
    this.out(`${done.type} ${done.state}: ${done.resourceType ?? ''}/${done.resourceId ?? ''}`);
  }

  /** A 202 answer that made several resources: follows the job, then shows them all as they are now. */
  async acceptedMany(a: Accepted, refetch: readonly string[], columns: readonly Column[]): Promise<void> {
    if (!this.globals.wait) return this.accepted(a, null);
    const timeoutMs = Number(this.globals.timeout) * 1000;
    await followJob(this.client, a.job, { progress: this.globals.progress, timeoutMs });
    const rows = await Promise.all(refetch.map((p) => this.client.get<Record<string, unknown>>(p)));
    if (this.json) return this.print(rows);
    this.out(table(rows, columns));
  }
}

/**
 * Prints a failure with its code (and the registry's recovery hint); returns the exit code. Each
 * message is its own line (trailing whitespace of a message trimmed, one newline added), so two
 * never run together; with JSON output every failure is one JSON line.
 */
export function reportError(
  e: unknown,
  json: boolean,
  err: (t: string) => void = (t) => process.stderr.write(t),
): number {
  const line = (t: string) => err(t.trimEnd() + '\n');
  const message = e instanceof Error ? e.message : String(e);
  if (json) {
    const c = e instanceof CliError ? e : null;
    line(
      JSON.stringify({
        error: { code: c?.code ?? 'CLI_ERROR', message, status: c?.status ?? null, details: c?.details },
      }),
    );
  } else if (e instanceof CliError) {
    line(`error ${e.code}${e.status ? ` (HTTP ${e.status})` : ''}: ${message}`);
    const hint = errorRegistry.get(e.code)?.recovery;
    if (hint) line(`hint: ${hint}`);
  } else {
    line(`error: ${message}`);
  }
  return 1;
}

/** Wraps an action: builds the context from the inherited options, prints failures with their codes. */
export function action<A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const globals = cmd.optsWithGlobals<Globals>();
    try {
      const config = await loadConfig(configPath());
      const profile = resolveProfile(config, globals);
      await fn(new Context(new ApiClient(profile), globals), ...(args.slice(0, -1) as A));
    } catch (e) {
      process.exitCode = reportError(e, globals.output === 'json');
    }
  };
}
