import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { when } from '../format.js';
import { ErrorLine, Placeholder } from '../parts/common.js';
import { Confirm } from '../parts/dialog.js';
import { JobView } from '../parts/job.js';

/** What nothing in the database references (GET /v1/orphans, a scan), and collecting it (a job). */
export function Orphans({ session }: { session: Session }) {
  const { api } = session;
  const report = useLoad(() => api.get('/v1/orphans'), []);
  const [asking, setAsking] = useState(false);
  const [job, setJob] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const collect = async () => {
    setError(undefined);
    try {
      setJob((await api.post('/v1/orphans/collect', {})).job.id);
    } catch (e) {
      setError(e as Error);
    }
  };
  const r = report.data;
  return (
    <div class="page">
      <h1>Orphans</h1>
      <div class="actions">
        <button onClick={() => report.reload()}>Scan again</button>
        <button
          class="danger"
          disabled={!r || r.orphans.length === 0}
          title={!r ? 'scanning…' : r.orphans.length === 0 ? 'nothing to collect' : 'Remove every orphan'}
          onClick={() => setAsking(true)}
        >
          Collect
        </button>
        <span class="muted">scanned {when(r?.scannedAt)}</span>
      </div>
      <ErrorLine error={error ?? report.error} />
      {job && <JobView key={job} api={api} id={job} onDone={() => report.reload()} />}
      {r?.warnings.map((w) => (
        <p key={w} class="notice">
          {w}
        </p>
      ))}
      {!r ? (
        <Placeholder rows={4} />
      ) : r.orphans.length === 0 ? (
        <p class="muted" data-testid="no-orphans">
          No orphan.
        </p>
      ) : (
        <table class="orphans">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Reference</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {r.orphans.map((o) => (
              <tr key={`${o.kind}:${o.ref}`}>
                <td>{o.kind}</td>
                <td class="mono">{o.ref}</td>
                <td>{o.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asking && r && (
        <Confirm
          title="Collect orphans?"
          label="Confirm collect"
          danger
          onClose={() => setAsking(false)}
          onConfirm={() => void collect()}
        >
          <p>
            The collector removes what it finds then ({r.orphans.length} listed now); removed files and
            backend objects do not come back.
          </p>
        </Confirm>
      )}
    </div>
  );
}
