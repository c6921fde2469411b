import { Command } from 'commander';
import { action, JOB_COLUMNS } from '../context.js';
import { followJob, type JobRow } from '../follow.js';
import { col } from '../output.js';
import { enc } from './resource.js';

export function jobs(): Command {
  const cmd = new Command('jobs').description('durable jobs (every multi-step operation is one)');
  cmd
    .command('list')
    .alias('ls')
    .description('list jobs, newest first')
    .option('--state <state>', 'Queued, Running, Compensating, Succeeded or Failed')
    .option('--type <type>', 'e.g. volume.attach')
    .option('--resource <id>', 'working on this resource')
    .option('--limit <n>', 'items per page')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      action(
        async (
          ctx,
          o: { state?: string; type?: string; resource?: string; limit?: string; cursor?: string },
        ) =>
          ctx.list(
            await ctx.client.get('/v1/jobs', {
              state: o.state,
              type: o.type,
              resourceId: o.resource,
              limit: o.limit,
              cursor: o.cursor,
            }),
            JOB_COLUMNS,
          ),
      ),
    );
  cmd
    .command('get')
    .alias('show')
    .description('show a job')
    .argument('<id>')
    .action(action(async (ctx, id: string) => ctx.one(await ctx.client.get(`/v1/jobs/${enc(id)}`))));
  cmd
    .command('cancel')
    .description('cancel a job: a queued one at once, a running one at its next step (undoing it)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) =>
        ctx.one(await ctx.client.request('POST', `/v1/jobs/${enc(id)}/cancel`)),
      ),
    );
  cmd
    .command('wait')
    .description('wait for a job, with a progress bar; exits 1 if it failed')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const job = await ctx.client.get<JobRow>(`/v1/jobs/${enc(id)}`);
        const done = await followJob(ctx.client, job, {
          progress: ctx.globals.progress,
          timeoutMs: Number(ctx.globals.timeout) * 1000,
        });
        ctx.one(done as unknown as Record<string, unknown>);
      }),
    );
  cmd
    .command('steps')
    .description("a job's journal")
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        const steps = await ctx.client.get<Record<string, unknown>[]>(`/v1/jobs/${enc(id)}/steps`);
        ctx.list({ items: steps }, [
          col('#', 'index'),
          col('name'),
          col('phase'),
          col('status'),
          col('started', 'startedAt'),
          col('finished', 'finishedAt'),
          col('error', (s) => (s['error'] as { code?: string } | null)?.code),
        ]);
      }),
    );
  return cmd;
}
