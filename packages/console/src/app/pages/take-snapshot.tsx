import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { ErrorLine } from '../parts/common.js';

type Vm = Answer<'/v1/vms/{id}'>;
const QUIESCE = ['auto', 'guest', 'hypervisor', 'pause', 'none'] as const;
type Quiesce = (typeof QUIESCE)[number];

interface Explained {
  readonly chosen: string | null;
  readonly explanation: ReadonlyArray<{ strategy: string; priority: string; reason: string }>;
}

/** Take a snapshot: name, quiesce, memory; disabled with the strategies' reasons when none can. */
export function TakeSnapshot({
  session,
  vm,
  onJob,
}: {
  session: Session;
  vm: Vm;
  onJob: (id: string) => void;
}) {
  const [name, setName] = useState('');
  const [quiesce, setQuiesce] = useState<Quiesce>('auto');
  const [memory, setMemory] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const explained = useLoad(
    async () =>
      (await session.api.get(
        '/v1/vms/{id}/snapshot-strategies',
        { id: vm.id },
        { operation: 'take', quiesce, memory },
      )) as unknown as Explained,
    [vm.id, vm.state, quiesce, memory],
  );
  const chosen = explained.data?.chosen ?? null;
  const reason = explained.data
    ? chosen
      ? `strategy ${chosen}`
      : explained.data.explanation.map((e) => `${e.strategy}: ${e.reason}`).join('; ')
    : 'asking the server which strategy can take it…';
  const take = async () => {
    setError(undefined);
    setConfirming(false);
    try {
      const r = await session.api.post(
        '/v1/vm-snapshots',
        {},
        { vmId: vm.id, name, quiesce, snapshotMemory: memory },
      );
      onJob(r.job.id);
      setName('');
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <form
      class="take"
      onSubmit={(e) => {
        e.preventDefault();
        setConfirming(true);
      }}
    >
      <label>
        Name{' '}
        <input
          name="snapshot-name"
          required
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Quiesce{' '}
        <select
          name="quiesce"
          value={quiesce}
          onChange={(e) => setQuiesce((e.target as HTMLSelectElement).value as Quiesce)}
        >
          {QUIESCE.map((q) => (
            <option key={q} value={q}>
              {q}
            </option>
          ))}
        </select>
      </label>
      <label class="inline">
        <input type="checkbox" checked={memory} onChange={() => setMemory(!memory)} /> with memory
      </label>
      <button type="submit" disabled={!chosen || !name} title={reason}>
        Take snapshot
      </button>
      <span class={chosen ? 'muted' : 'reason'}>{reason}</span>
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="confirm">
          Take snapshot <strong>{name}</strong> of {vm.name} ({quiesce},{' '}
          {memory ? 'with memory' : 'disk only'})?{' '}
          <button type="button" class="danger" onClick={() => void take()}>
            Confirm take
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorLine error={error ?? explained.error} />
    </form>
  );
}
