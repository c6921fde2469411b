import { Command } from 'commander';
import { action, JOB_COLUMNS } from '../context.js';
import { followJob, type JobRow } from '../follow.js';
import { col, table } from '../output.js';

const ORPHAN_COLUMNS = [
  col('kind'),
  col('ref'),
  col('pool', 'poolId'),
  col('volume', 'volumeId'),
  col('host', 'hostId'),
  col('vm snapshot', 'vmSnapshotId'),
  col('reason'),
];

type Report = { orphans: Record<string, unknown>[]; warnings: string[] };
type Collected = {
  removed: Record<string, unknown>[];
  failed: Array<{ orphan: Record<string, unknown>; error: string }>;
  warnings: string[];
};

/** `strata orphans list|collect`: what nothing in the database references, and its removal (admin). */
export function orphans(): Command {
  const cmd = new Command('orphans').description(
    'files, backend snapshots, VM-snapshot parts, volumes and grants nothing references; stuck VM snapshots (admin)',
  );
  cmd
    .command('list')
    .alias('ls')
    .description('report orphans (changes nothing)')
    .action(
      action(async (ctx) => {
        const report = await ctx.client.get<Report>('/v1/orphans');
        if (ctx.json) return ctx.print(report);
        ctx.list({ items: report.orphans }, ORPHAN_COLUMNS);
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      }),
    );
  cmd
    .command('collect')
    .description('remove every orphan (a job); prints what went')
    .action(
      action(async (ctx) => {
        const { job } = await ctx.client.request<{ job: JobRow }>('POST', '/v1/orphans/collect');
        if (!ctx.globals.wait) {
          if (ctx.json) return ctx.print({ job });
          return ctx.list({ items: [job as unknown as Record<string, unknown>] }, JOB_COLUMNS);
        }
        const done = await followJob(ctx.client, job, {
          progress: ctx.globals.progress,
          timeoutMs: Number(ctx.globals.timeout) * 1000,
        });
        const result = (done as unknown as { result: Collected | null }).result;
        if (ctx.json) return ctx.print(done);
        if (done.state !== 'Succeeded' || !result) {
          process.exitCode = 1;
          return ctx.one(done as unknown as Record<string, unknown>);
        }
        process.stdout.write(
          (result.removed.length ? table(result.removed, ORPHAN_COLUMNS) : '(nothing to remove)') + '\n',
        );
        for (const f of result.failed) {
          process.stderr.write(
            `failed: ${String(f.orphan['kind'])} ${String(f.orphan['ref'])}: ${f.error}\n`,
          );
          process.exitCode = 1;
        }
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      }),
    );
  return cmd;
}
