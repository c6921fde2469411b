import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer, Query } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { bytes } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { JobView, type Job } from '../parts/job.js';

type Volume = Answer<'/v1/volumes/{id}'>;

/**
 * Volumes (a VM's disks, or a page of all): backend, pool, QoS and device; QoS edited with what
 * the hypervisor read back.
 */
export function Disks({
  session,
  query,
  pager,
}: {
  session: Session;
  query: Query;
  /** Page through all volumes (query carries page and pageSize). */
  pager?: { readonly page: number; readonly size: number; go(page: number): void };
}) {
  const { api } = session;
  const key = JSON.stringify(query);
  const data = useLoad(
    async () => {
      const listed = await api.get('/v1/volumes', {}, { ...query, ...(pager && { total: true }) });
      const volumes = listed.items;
      // Pools name the backend; a caller that may not list them sees the pool's id.
      const pools = await api.get('/v1/storage-pools', {}, { limit: 500 }).then(
        (p) => new Map(p.items.map((x) => [x.id, x])),
        () => new Map<string, never>(),
      );
      return { volumes, pools, total: listed.total ?? volumes.length };
    },
    [key],
    5000,
  );
  const [editing, setEditing] = useState<string | null>(null);
  if (!data.data) return <Placeholder rows={3} />;
  return (
    <>
      <ErrorLine error={data.error} />
      <table class="disks">
        <thead>
          <tr>
            <th>Disk</th>
            <th>Device</th>
            <th>Backend</th>
            <th>Pool</th>
            <th>Size</th>
            <th>QoS (min / max / burst IOPS)</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.data.volumes.map((v) => {
            const pool = data.data?.pools.get(v.poolId);
            return (
              <tr key={v.id} data-volume-id={v.id}>
                <td>
                  <a href={`#/volumes/${v.id}`}>{v.name}</a> <span class="muted">({v.type})</span>
                </td>
                <td class="mono">{v.deviceName ?? '–'}</td>
                <td>{pool?.provider ?? 'unknown'}</td>
                <td>{pool?.name ?? <span class="mono">{v.poolId}</span>}</td>
                <td>{bytes(v.sizeBytes)}</td>
                <td class="qos">
                  {v.qos
                    ? `${v.qos.minIops ?? 0} / ${v.qos.maxIops ?? 0} / ${v.qos.burstIops ?? 0} for ${v.qos.burstSeconds ?? 0} s`
                    : 'none'}
                </td>
                <td>
                  <Badge state={v.state} />
                </td>
                <td>
                  <button onClick={() => setEditing(editing === v.id ? null : v.id)}>Edit QoS</button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {editing && (
        <QosEditor
          session={session}
          volume={data.data.volumes.find((v) => v.id === editing)!}
          onDone={() => data.reload()}
        />
      )}
      {pager && (
        <nav class="pager" aria-label="pages">
          <button disabled={pager.page <= 1} onClick={() => pager.go(pager.page - 1)}>
            Previous
          </button>
          <span>
            page {pager.page} of {Math.max(1, Math.ceil(data.data.total / pager.size))} ({data.data.total}{' '}
            volumes)
          </span>
          <button
            disabled={pager.page >= Math.ceil(data.data.total / pager.size)}
            onClick={() => pager.go(pager.page + 1)}
          >
            Next
          </button>
        </nav>
      )}
    </>
  );
}

/** What the job read back from QEMU (`iotune`), and whether the backend or the front end enforces. */
function ReadBack({ job }: { job: Job }) {
  const r = job.result as {
    enforcedBy?: string;
    live?: boolean;
    iotune?: Record<string, number | undefined> | null;
  };
  if (job.state !== 'Succeeded' || !r) return null;
  return (
    <div class="readback" data-testid="qos-readback">
      <strong>Read back:</strong> enforced by {r.enforcedBy ?? 'unknown'};{' '}
      {r.live && r.iotune ? (
        <>
          QEMU now holds total IOPS <code>{r.iotune['totalIopsSec'] ?? 0}</code>, burst{' '}
          <code>{r.iotune['totalIopsSecMax'] ?? 0}</code> for{' '}
          <code>{r.iotune['totalIopsSecMaxLength'] ?? 0}</code> s
        </>
      ) : (
        'the VM is not running: QEMU takes it at the next start'
      )}
    </div>
  );
}

export function QosEditor({
  session,
  volume,
  onDone,
}: {
  session: Session;
  volume: Volume;
  onDone: () => void;
}) {
  const [q, setQ] = useState({
    minIops: volume.qos?.minIops ?? 0,
    maxIops: volume.qos?.maxIops ?? 0,
    burstIops: volume.qos?.burstIops ?? 0,
    burstSeconds: volume.qos?.burstSeconds ?? 0,
  });
  const [job, setJob] = useState<Job | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const field = (k: keyof typeof q, label: string) => (
    <label>
      {label}
      <input
        type="number"
        min={0}
        name={k}
        value={q[k]}
        onInput={(e) => setQ({ ...q, [k]: Number((e.target as HTMLInputElement).value) })}
      />
    </label>
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setJob(null);
    try {
      const r = await session.api.put('/v1/volumes/{id}/qos', { id: volume.id }, q);
      setJobId(r.job.id);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form class="qos-editor" onSubmit={(e) => void submit(e)}>
      <h3>QoS of {volume.name}</h3>
      <div class="row">
        {field('minIops', 'Min IOPS')}
        {field('maxIops', 'Max IOPS')}
        {field('burstIops', 'Burst IOPS')}
        {field('burstSeconds', 'Burst seconds')}
        <button type="submit">Apply</button>
      </div>
      <p class="muted">
        Asked: {q.minIops} / {q.maxIops} / {q.burstIops} for {q.burstSeconds} s
      </p>
      <ErrorLine error={error} />
      {jobId && (
        <JobView
          api={session.api}
          id={jobId}
          onDone={(j) => {
            if (job?.id !== j.id) {
              setJob(j);
              onDone();
            }
          }}
        />
      )}
      {job && <ReadBack job={job} />}
    </form>
  );
}
