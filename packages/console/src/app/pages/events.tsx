import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { ErrorLine, Placeholder } from '../parts/common.js';
import { Pager } from '../parts/pager.js';

const PAGE = 25;

/** The event log (GET /v1/events) newest first, a page at a time, filtered by type. */
export function EventLog({ session }: { session: Session }) {
  const [page, setPage] = useState(1);
  const [type, setType] = useState('');
  const events = useLoad(
    async () => {
      // The API pages oldest first: count, then read the page that holds the newest events wanted.
      const filter = type ? { type } : {};
      const { total = 0 } = await session.api.get('/v1/events', {}, { ...filter, limit: 1, total: true });
      const last = Math.max(1, Math.ceil(total / PAGE));
      const p = await session.api.get('/v1/events', {}, { ...filter, page: last - page + 1, pageSize: PAGE });
      return { total, items: [...p.items].reverse() };
    },
    [page, type],
    5000,
  );
  return (
    <div class="page">
      <h1>Events</h1>
      <form
        class="actions"
        onSubmit={(e) => {
          e.preventDefault();
          setType(((new FormData(e.target as HTMLFormElement).get('type') as string | null) ?? '').trim());
          setPage(1);
        }}
      >
        <label class="inline">
          Type <input name="type" placeholder="e.g. vm.started" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={events.error} />
      {!events.data ? (
        <Placeholder rows={PAGE} />
      ) : (
        <table class="events">
          <thead>
            <tr>
              <th>When</th>
              <th>Type</th>
              <th>Resource</th>
              <th>Description</th>
              <th>Job</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((ev) => (
              <tr key={ev.id} data-event-id={ev.id}>
                <td>{when(ev.createdAt)}</td>
                <td>{ev.type}</td>
                <td>
                  {ev.resourceType} <span class="mono">{ev.resourceId.slice(0, 8)}</span>
                </td>
                <td>{ev.description}</td>
                <td>{ev.jobId && <a href={`#/jobs/${ev.jobId}`}>{ev.jobId.slice(0, 8)}</a>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page} size={PAGE} total={events.data?.total} onPage={setPage} noun="events" />
    </div>
  );
}
