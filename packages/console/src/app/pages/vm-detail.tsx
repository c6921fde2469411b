import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes, when } from '../format.js';
import { Badge, ErrorLine, Placeholder, Section } from '../parts/common.js';
import { JobView } from '../parts/job.js';
import { SnapshotTree } from './snapshot-tree.js';
import { Disks } from './disks.js';
import { Migrate } from './migrate.js';

/** One VM: its state and power actions, its disks with backend, pool, QoS and device, its snapshot tree. */
export function VmDetail({ session, id }: { session: Session; id: string }) {
  const { api } = session;
  const vm = useLoad(() => api.get('/v1/vms/{id}', { id }), [id], 3000);
  const [job, setJob] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const power = async (action: 'start' | 'stop') => {
    setError(undefined);
    try {
      const r =
        action === 'start'
          ? await api.post('/v1/vms/{id}/start', { id }, {})
          : await api.post('/v1/vms/{id}/stop', { id }, {});
      setJob(r.job.id);
    } catch (e) {
      setError(e as Error);
    }
  };
  const v = vm.data;
  return (
    <div class="page">
      <p>
        <a href="#/vms">← Virtual machines</a>
      </p>
      <ErrorLine error={vm.error} />
      {!v ? (
        <Placeholder rows={3} />
      ) : (
        <>
          <h1>
            {v.name} <Badge state={v.state} />
          </h1>
          <dl class="facts">
            <dt>ID</dt>
            <dd class="mono">{v.id}</dd>
            <dt>CPUs / memory</dt>
            <dd>
              {v.cpus} / {bytes(v.memoryBytes)}
            </dd>
            <dt>Host</dt>
            <dd class="mono">{v.hostId ?? '–'}</dd>
            <dt>Created</dt>
            <dd>{when(v.createdAt)}</dd>
          </dl>
          <div class="actions">
            <button
              disabled={v.state !== 'Stopped'}
              title={v.state !== 'Stopped' ? `The VM is ${v.state}: only a Stopped VM starts` : ''}
              onClick={() => void power('start')}
            >
              Start
            </button>
            <button
              disabled={v.state !== 'Running'}
              title={v.state !== 'Running' ? `The VM is ${v.state}: only a Running VM stops` : ''}
              onClick={() => void power('stop')}
            >
              Stop
            </button>
          </div>
          {session.operator && <Migrate session={session} vm={v} onJob={setJob} />}
          <ErrorLine error={error} />
          {job && <JobView key={job} api={api} id={job} onDone={() => vm.reload()} />}
        </>
      )}
      <Section title="Disks">
        <Disks session={session} query={{ vmId: id, limit: 100 }} />
      </Section>
      <Section title="Snapshots">
        {v && <SnapshotTree session={session} vm={v} onChange={() => vm.reload()} />}
      </Section>
    </div>
  );
}
