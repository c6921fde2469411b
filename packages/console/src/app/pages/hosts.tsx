import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { bytes, when } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { Confirm } from '../parts/dialog.js';
import { JobView } from '../parts/job.js';

type Host = Answer<'/v1/hosts/{id}'>;

/** The host state machine's answer to each action (packages/core hostMachine); null when it may run. */
export function maintenanceBlocked(h: Host, action: 'prepare' | 'cancel'): string | null {
  if (action === 'prepare')
    return h.state === 'Up' || h.state === 'Disconnected'
      ? null
      : `the host is ${h.state} (ILLEGAL_TRANSITION: only an Up or Disconnected host prepares)`;
  return h.state === 'PreparingMaintenance' || h.state === 'Maintenance'
    ? null
    : `the host is ${h.state}: it is not in maintenance`;
}

/** Hosts (operators) with maintenance: prepare (its VMs migrate away first) and cancel/exit. */
export function HostList({ session }: { session: Session }) {
  const { api } = session;
  const hosts = useLoad(() => api.get('/v1/hosts', {}, { limit: 100 }), [], 3000);
  const [asking, setAsking] = useState<{ host: Host; action: 'prepare' | 'cancel' } | null>(null);
  const [job, setJob] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const run = async (h: Host, action: 'prepare' | 'cancel') => {
    setError(undefined);
    try {
      if (action === 'prepare') setJob((await api.post('/v1/hosts/{id}/maintenance', { id: h.id })).job.id);
      else await api.delete('/v1/hosts/{id}/maintenance', { id: h.id });
      hosts.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  const button = (h: Host, action: 'prepare' | 'cancel', label: string) => {
    const why = maintenanceBlocked(h, action);
    return (
      <button disabled={why !== null} title={why ?? label} onClick={() => setAsking({ host: h, action })}>
        {label}
      </button>
    );
  };
  return (
    <div class="page">
      <h1>Hosts</h1>
      <ErrorLine error={error ?? hosts.error} />
      {job && <JobView key={job} api={api} id={job} onDone={() => hosts.reload()} />}
      {!hosts.data ? (
        <Placeholder rows={3} />
      ) : (
        <table class="hosts">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>CPUs / memory</th>
              <th>Last seen</th>
              <th>Maintenance</th>
            </tr>
          </thead>
          <tbody>
            {hosts.data.items.map((h) => (
              <tr key={h.id} data-host-id={h.id} data-state={h.state}>
                <td>{h.name}</td>
                <td>
                  <Badge state={h.state} />
                </td>
                <td>
                  {h.cpus} / {bytes(h.memoryBytes)}
                </td>
                <td>{when(h.lastSeenAt)}</td>
                <td>
                  <div class="actions">
                    {button(h, 'prepare', 'Prepare maintenance')}
                    {button(
                      h,
                      'cancel',
                      h.state === 'Maintenance' ? 'End maintenance' : 'Cancel maintenance',
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asking && (
        <Confirm
          title={asking.action === 'prepare' ? 'Prepare maintenance?' : 'Leave maintenance?'}
          label={asking.action === 'prepare' ? 'Confirm prepare' : 'Confirm cancel'}
          danger={asking.action === 'prepare'}
          onClose={() => setAsking(null)}
          onConfirm={() => void run(asking.host, asking.action)}
        >
          <p>
            {asking.action === 'prepare'
              ? `Every running VM on ${asking.host.name} live-migrates to another host, then the host enters maintenance.`
              : `${asking.host.name} goes back to Up and takes VMs again.`}
          </p>
        </Confirm>
      )}
    </div>
  );
}
