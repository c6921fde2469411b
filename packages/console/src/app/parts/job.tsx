import type { Api, Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { Badge } from './common.js';
import { hintFor } from '../hints.js';

export type Job = Answer<'/v1/jobs/{id}'>;

/** A step of a job's journal (GET /v1/jobs/{id}/steps declares its items as free JSON). */
interface Step {
  readonly index: number;
  readonly name: string;
  readonly phase: string;
  readonly status: string;
  readonly error: { code?: string; message?: string } | null;
}

const finished = (j: Job | undefined) => j?.state === 'Succeeded' || j?.state === 'Failed';

export function jobError(j: Job): { code: string; message: string } | null {
  const e = j.error as { code?: string; message?: string } | null | undefined;
  if (!e || typeof e !== 'object') return null;
  return { code: e.code ?? 'UNKNOWN', message: e.message ?? '' };
}

/** One job, live: its state, progress, steps and coded error, polled until it ends. */
export function JobView({ api, id, onDone }: { api: Api; id: string; onDone?: (j: Job) => void }) {
  const job = useLoad(
    async () => {
      const j = await api.get('/v1/jobs/{id}', { id });
      const steps = (await api.get('/v1/jobs/{id}/steps', { id })) as unknown as Step[];
      if (finished(j)) onDone?.(j);
      return { j, steps };
    },
    [id],
    (d) => (finished(d.j) ? 0 : 1000),
  );
  const j = job.data?.j;
  if (!j) return <div class="job placeholder" aria-busy="true" />;
  const err = jobError(j);
  return (
    <div class="job" data-job-id={j.id} data-state={j.state}>
      <div class="job-head">
        <strong>{j.type}</strong> <Badge state={j.state} /> <progress max={100} value={j.progressPct} />{' '}
        <span>{Math.round(j.progressPct)}%</span> <span class="muted">{j.progressMessage}</span>
      </div>
      <ol class="steps">
        {job.data?.steps.map((s) => (
          <li key={`${s.phase}-${s.index}`} class={`step ${s.status}`}>
            {s.phase === 'compensate' ? 'undo ' : ''}
            {s.name}: {s.status}
            {s.error?.code && <code> {s.error.code}</code>}
          </li>
        ))}
      </ol>
      {err && (
        <p class="error" role="alert">
          <code>{err.code}</code> {err.message}
          {hintFor(err.code) && <span class="hint"> {hintFor(err.code)}</span>}
        </p>
      )}
      <p class="muted">
        started {when(j.startedAt)} · finished {when(j.finishedAt)}
      </p>
    </div>
  );
}
