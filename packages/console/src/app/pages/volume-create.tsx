import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { ErrorLine } from '../parts/common.js';
import { JobView } from '../parts/job.js';

const GIB = 1024 ** 3;

/**
 * A new volume: its pool (or placement's choice), size and QoS, given as a disk offering or as
 * figures. Confirmed first; the build job is shown live.
 */
export function CreateVolume({ session, onDone }: { session: Session; onDone: () => void }) {
  const choices = useLoad(async () => {
    // A tenant may not list pools: placement then chooses one.
    const pools = await session.api.get('/v1/storage-pools', {}, { limit: 200 }).then(
      (p) => p.items,
      () => [],
    );
    const offerings = await session.api.get('/v1/disk-offerings', {}, { limit: 200 }).then(
      (o) => o.items,
      () => [],
    );
    return { pools, offerings };
  }, []);
  const [f, setF] = useState({
    name: '',
    poolId: '',
    sizeGiB: 1,
    offeringId: '',
    minIops: 0,
    maxIops: 0,
    burstIops: 0,
    burstSeconds: 0,
  });
  const [confirming, setConfirming] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const set =
    (k: keyof typeof f, numeric = false) =>
    (e: Event) => {
      const v = (e.target as HTMLInputElement | HTMLSelectElement).value;
      setF({ ...f, [k]: numeric ? Number(v) : v });
    };
  const qos =
    !f.offeringId && f.maxIops > 0
      ? { minIops: f.minIops, maxIops: f.maxIops, burstIops: f.burstIops, burstSeconds: f.burstSeconds }
      : null;
  const create = async () => {
    setConfirming(false);
    setError(undefined);
    setJobId(null);
    try {
      const r = await session.api.post(
        '/v1/volumes',
        {},
        {
          name: f.name,
          sizeBytes: Math.round(f.sizeGiB * GIB),
          ...(f.poolId && { poolId: f.poolId }),
          ...(f.offeringId ? { offeringId: f.offeringId } : { qos }),
        },
      );
      setJobId(r.job.id);
      onDone();
    } catch (e) {
      setError(e as Error);
    }
  };
  const pool = choices.data?.pools.find((p) => p.id === f.poolId);
  const offering = choices.data?.offerings.find((o) => o.id === f.offeringId);
  const num = (k: keyof typeof f, label: string) => (
    <label>
      {label}{' '}
      <input
        type="number"
        min={0}
        name={`create-${k}`}
        value={f[k]}
        disabled={!!f.offeringId}
        onInput={set(k, true)}
      />
    </label>
  );
  return (
    <form
      class="create-volume"
      aria-label="create volume"
      onSubmit={(e) => {
        e.preventDefault();
        setConfirming(true);
      }}
    >
      <h2>Create a volume</h2>
      <div class="row">
        <label>
          Name <input name="create-name" required value={f.name} onInput={set('name')} />
        </label>
        <label>
          Pool{' '}
          <select name="create-pool" value={f.poolId} onChange={set('poolId')}>
            <option value="">placement chooses</option>
            {choices.data?.pools.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.provider})
              </option>
            ))}
          </select>
        </label>
        <label>
          Size (GiB){' '}
          <input
            name="create-gib"
            type="number"
            min={1}
            step="any"
            value={f.sizeGiB}
            onInput={set('sizeGiB', true)}
          />
        </label>
        <label>
          Offering{' '}
          <select name="create-offering" value={f.offeringId} onChange={set('offeringId')}>
            <option value="">QoS below</option>
            {choices.data?.offerings.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="row">
        {num('minIops', 'Min IOPS')}
        {num('maxIops', 'Max IOPS')}
        {num('burstIops', 'Burst IOPS')}
        {num('burstSeconds', 'Burst seconds')}
        <button type="submit" disabled={!f.name}>
          Create
        </button>
      </div>
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="confirm">
          Create <strong>{f.name}</strong>, {f.sizeGiB} GiB, in{' '}
          {pool ? `${pool.name} (${pool.provider})` : 'the pool placement chooses'} with{' '}
          {offering
            ? `offering ${offering.name}`
            : qos
              ? `QoS ${qos.minIops} / ${qos.maxIops} / ${qos.burstIops} for ${qos.burstSeconds} s`
              : 'no QoS'}
          ?{' '}
          <button type="button" class="danger" onClick={() => void create()}>
            Confirm create
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorLine error={error ?? choices.error} />
      {jobId && <JobView api={session.api} id={jobId} onDone={() => onDone()} />}
    </form>
  );
}
