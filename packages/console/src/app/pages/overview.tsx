import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes, when } from '../format.js';
import { Badge, ErrorLine, Meter, Placeholder, Section } from '../parts/common.js';
import { jobError } from '../parts/job.js';

/** Hosts, pools with capacity and minimum IOPS admitted, jobs running now, recent failures. */
export function Overview({ session }: { session: Session }) {
  const { api } = session;
  const infra = useLoad(
    async () =>
      session.operator
        ? {
            hosts: (await api.get('/v1/hosts', {}, { limit: 100 })).items,
            pools: (await api.get('/v1/storage-pools', {}, { limit: 100 })).items,
          }
        : null,
    [],
    10_000,
  );
  const jobs = useLoad(
    async () => ({
      running: (await api.get('/v1/jobs', {}, { state: 'Running', limit: 20 })).items,
      failed: (await api.get('/v1/jobs', {}, { state: 'Failed', limit: 10 })).items,
    }),
    [],
    3000,
  );
  return (
    <div class="page">
      <h1>Overview</h1>
      {session.operator && (
        <div class="grid2">
          <Section title="Hosts">
            <ErrorLine error={infra.error} />
            {!infra.data ? (
              <Placeholder />
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>State</th>
                    <th>CPUs</th>
                    <th>Memory</th>
                    <th>Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {infra.data.hosts.map((h) => (
                    <tr key={h.id}>
                      <td>{h.name}</td>
                      <td>
                        <Badge state={h.state} />
                      </td>
                      <td>{h.cpus}</td>
                      <td>{bytes(h.memoryBytes)}</td>
                      <td>{when(h.lastSeenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Storage pools">
            {!infra.data ? (
              <Placeholder />
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Backend</th>
                    <th>State</th>
                    <th>Capacity used</th>
                    <th>Min IOPS admitted</th>
                  </tr>
                </thead>
                <tbody>
                  {infra.data.pools.map((p) => (
                    <tr key={p.id}>
                      <td>{p.name}</td>
                      <td>{p.provider}</td>
                      <td>
                        <Badge state={p.state} />
                      </td>
                      <td>
                        <Meter
                          used={p.usedBytes ?? 0}
                          of={p.capacityBytes ?? 0}
                          label={`${bytes(p.usedBytes)} of ${bytes(p.capacityBytes)}`}
                        />
                      </td>
                      <td>
                        <Meter
                          used={p.usedMinIops ?? 0}
                          of={p.capacityIops ?? 0}
                          label={`${p.usedMinIops ?? 0} of ${p.capacityIops || 'unlimited'} IOPS`}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </div>
      )}
      <div class="grid2">
        <Section title="Jobs running now">
          <ErrorLine error={jobs.error} />
          {!jobs.data ? (
            <Placeholder />
          ) : jobs.data.running.length === 0 ? (
            <p class="muted">No job is running.</p>
          ) : (
            <ul class="list">
              {jobs.data.running.map((j) => (
                <li key={j.id}>
                  <a href={`#/jobs/${j.id}`}>{j.type}</a> <progress max={100} value={j.progressPct} />{' '}
                  {j.progressMessage}
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Recent failures">
          {!jobs.data ? (
            <Placeholder />
          ) : jobs.data.failed.length === 0 ? (
            <p class="muted">No job has failed.</p>
          ) : (
            <ul class="list">
              {jobs.data.failed.map((j) => (
                <li key={j.id}>
                  <a href={`#/jobs/${j.id}`}>{j.type}</a> <code>{jobError(j)?.code}</code>{' '}
                  {when(j.finishedAt)}
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </div>
  );
}
