import { useState } from 'preact/hooks';
import type { Answer } from '../api/client.js';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes } from '../format.js';
import { ErrorLine } from '../parts/common.js';
import { JobView } from '../parts/job.js';

type Volume = Answer<'/v1/volumes/{id}'>;
type Action = 'attach' | 'detach' | 'resize';

const GIB = 1024 ** 3;

/**
 * Attach (to a VM the session may see), detach and resize of one volume: each asks for
 * confirmation, then shows its job live or the API's coded refusal.
 */
export function VolumeActions({
  session,
  volume,
  onDone,
}: {
  session: Session;
  volume: Volume;
  onDone: () => void;
}) {
  const [open, setOpen] = useState<Action | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [vmId, setVmId] = useState('');
  const [sizeGiB, setSizeGiB] = useState(Math.ceil(volume.sizeBytes / GIB) + 1);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const vms = useLoad(
    () => (open === 'attach' ? session.api.get('/v1/vms', {}, { limit: 200 }) : Promise.resolve(null)),
    [open],
  );
  const choose = (a: Action) => {
    setOpen(open === a ? null : a);
    setConfirming(false);
    setError(undefined);
  };
  const run = async () => {
    setConfirming(false);
    setError(undefined);
    setJobId(null);
    try {
      const r =
        open === 'attach'
          ? await session.api.post('/v1/volumes/{id}/attach', { id: volume.id }, { vmId })
          : open === 'detach'
            ? await session.api.post('/v1/volumes/{id}/detach', { id: volume.id })
            : await session.api.post(
                '/v1/volumes/{id}/resize',
                { id: volume.id },
                { sizeBytes: Math.round(sizeGiB * GIB) },
              );
      setJobId(r.job.id);
    } catch (e) {
      setError(e as Error);
    }
  };
  const vmName = vms.data?.items.find((v) => v.id === vmId)?.name ?? vmId;
  const question =
    open === 'attach'
      ? `Attach ${volume.name} to ${vmName}?`
      : open === 'detach'
        ? `Detach ${volume.name} from its VM? The guest loses the disk at once.`
        : `Grow ${volume.name} from ${bytes(volume.sizeBytes)} to ${bytes(Math.round(sizeGiB * GIB))}?`;
  return (
    <div class="volume-actions">
      <div class="row">
        <button
          disabled={!!volume.vmId}
          title={volume.vmId ? 'attached: detach it first' : ''}
          onClick={() => choose('attach')}
        >
          Attach…
        </button>
        <button
          disabled={!volume.vmId || volume.type === 'ROOT'}
          title={!volume.vmId ? 'not attached' : volume.type === 'ROOT' ? "a VM's root disk stays" : ''}
          onClick={() => choose('detach')}
        >
          Detach…
        </button>
        <button onClick={() => choose('resize')}>Resize…</button>
      </div>
      {open && (
        <form
          class={`action ${open}`}
          onSubmit={(e) => {
            e.preventDefault();
            setConfirming(true);
          }}
        >
          {open === 'attach' && (
            <label>
              VM{' '}
              <select
                name="attach-vm"
                required
                value={vmId}
                onChange={(e) => setVmId((e.target as HTMLSelectElement).value)}
              >
                <option value="">choose a VM</option>
                {vms.data?.items.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.name} ({v.state})
                  </option>
                ))}
              </select>
            </label>
          )}
          {open === 'resize' && (
            <label>
              New size (GiB){' '}
              <input
                name="resize-gib"
                type="number"
                min={0}
                step="any"
                value={sizeGiB}
                onInput={(e) => setSizeGiB(Number((e.target as HTMLInputElement).value))}
              />
            </label>
          )}
          <button type="submit">
            {open === 'attach' ? 'Attach' : open === 'detach' ? 'Detach' : 'Resize'}
          </button>
          {confirming && (
            <div class="confirm" role="alertdialog" aria-label="confirm">
              {question}{' '}
              <button type="button" class="danger" onClick={() => void run()}>
                Confirm {open}
              </button>{' '}
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          )}
        </form>
      )}
      <ErrorLine error={error ?? vms.error} />
      {jobId && <JobView api={session.api} id={jobId} onDone={() => onDone()} />}
    </div>
  );
}
