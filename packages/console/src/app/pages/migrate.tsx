import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { ErrorLine } from '../parts/common.js';
import { Confirm } from '../parts/dialog.js';

type Vm = Answer<'/v1/vms/{id}'>;

/** Why a live migration cannot run now, as the API would refuse it; null when it can. */
export function migrateBlocked(
  vm: Vm,
  hosts: readonly { hostId: string; suitable: boolean; reason: string | null }[] | undefined,
): string | null {
  if (vm.state !== 'Running') return `the VM is ${vm.state} (ILLEGAL_TRANSITION: only a Running VM migrates)`;
  if (!hosts) return 'asking which hosts could take it…';
  if (hosts.length === 0) return 'no other host to go to';
  if (!hosts.some((h) => h.suitable))
    return `no host can take it: ${hosts.map((h) => `${h.hostId.slice(0, 8)}: ${h.reason ?? '?'}`).join('; ')}`;
  return null;
}

/** Live migration (operators): to a chosen host, or where placement chooses; confirmed first. */
export function Migrate({ session, vm, onJob }: { session: Session; vm: Vm; onJob: (id: string) => void }) {
  const { api } = session;
  const hosts = useLoad(
    () => api.get('/v1/vms/{id}/migration-hosts', { id: vm.id }),
    [vm.id, vm.state, vm.hostId],
    10_000,
  );
  const [target, setTarget] = useState('');
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const blocked = migrateBlocked(vm, hosts.data);
  const go = async () => {
    setError(undefined);
    try {
      onJob((await api.post('/v1/vms/{id}/migrate', { id: vm.id }, target ? { hostId: target } : {})).job.id);
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <div class="actions migrate">
      <label>
        Migrate to{' '}
        <select
          name="migrate-host"
          value={target}
          onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}
        >
          <option value="">placement's choice</option>
          {hosts.data?.map((h) => (
            <option key={h.hostId} value={h.hostId} disabled={!h.suitable}>
              {h.hostId.slice(0, 8)}
              {h.suitable ? '' : ` (${(h.reason ?? 'unsuitable').slice(0, 60)})`}
            </option>
          ))}
        </select>
      </label>
      <button
        disabled={blocked !== null}
        title={blocked ?? 'Live-migrate the VM'}
        onClick={() => setAsking(true)}
      >
        Migrate
      </button>
      {blocked && <span class="reason">{blocked}</span>}
      <ErrorLine error={error ?? hosts.error} />
      {asking && (
        <Confirm
          title="Migrate this VM?"
          label="Confirm migrate"
          onClose={() => setAsking(false)}
          onConfirm={() => void go()}
        >
          <p>
            <strong>{vm.name}</strong> moves live to{' '}
            {target ? <code>{target}</code> : 'the host placement chooses'}; the guest keeps running.
          </p>
        </Confirm>
      )}
    </div>
  );
}
