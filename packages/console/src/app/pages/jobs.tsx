import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { JobView, jobError } from '../parts/job.js';

const PAGE = 25;
const STATES = ['', 'Queued', 'Running', 'Compensating', 'Succeeded', 'Failed'];

/** Every job the caller may see, live; failures with their coded error. */
export function JobList({ session }: { session: Session }) {
  const [page, setPage] = useState(1);
  const [state, setState] = useState('');
  const jobs = useLoad(
    () => session.api.get('/v1/jobs', {}, { page, pageSize: PAGE, total: true, ...(state && { state }) }),
    [page, state],
    2000,
  );
  const pages = Math.max(1, Math.ceil((jobs.data?.total ?? 0) / PAGE));
  return (
    <div class="page">
      <h1>Jobs</h1>
      <label>
        State{' '}
        <select
          value={state}
          onChange={(e) => {
            setState((e.target as HTMLSelectElement).value);
            setPage(1);
          }}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s || 'any'}
            </option>
          ))}
        </select>
      </label>
      <ErrorLine error={jobs.error} />
      {!jobs.data ? (
        <Placeholder rows={8} />
      ) : (
        <table>
          <thead>
            <tr>
              <th>Type</th>
              <th>State</th>
              <th>Progress</th>
              <th>Error</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.items.map((j) => (
              <tr key={j.id} data-job-id={j.id}>
                <td>
                  <a href={`#/jobs/${j.id}`}>{j.type}</a>
                </td>
                <td>
                  <Badge state={j.state} />
                </td>
                <td>
                  <progress max={100} value={j.progressPct} /> {j.progressMessage}
                </td>
                <td>
                  <code>{jobError(j)?.code ?? ''}</code>
                </td>
                <td>{when(j.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="pages">
        <button disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>
          page {page} of {pages}
        </span>
        <button disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    </div>
  );
}

export function JobPage({ session, id }: { session: Session; id: string }) {
  const [error, setError] = useState<Error | undefined>(undefined);
  const cancel = async () => {
    setError(undefined);
    await session.api.post('/v1/jobs/{id}/cancel', { id }).catch((e: unknown) => setError(e as Error));
  };
  return (
    <div class="page">
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <h1>Job</h1>
      <JobView api={session.api} id={id} />
      <button onClick={() => void cancel()}>Cancel job</button>
      <ErrorLine error={error} />
    </div>
  );
}
