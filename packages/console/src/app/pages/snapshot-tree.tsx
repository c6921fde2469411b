import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { Answer } from '../api/client.js';
import { useLoad } from '../use-load.js';
import { bytes, ms, when } from '../format.js';
import { Badge, ErrorLine, Placeholder } from '../parts/common.js';
import { JobView } from '../parts/job.js';
import { sizeOf, treeRows, type TreeNode, type TreeRow } from '../tree.js';
import { TakeSnapshot } from './take-snapshot.js';
import { SnapshotSize } from '../parts/snapshot-size.js';

type Vm = Answer<'/v1/vms/{id}'>;

/** An action waiting for the user to confirm it, inline (keyboard reachable, no browser dialog). */
interface Pending {
  readonly kind: 'revert' | 'delete';
  readonly node: TreeNode;
}

/** Why a revert cannot run now, as the API would refuse it; null when it can. */
function revertBlocked(vm: Vm, n: TreeNode, restart: boolean): string | null {
  if (n.state !== 'Ready') return `the snapshot is ${n.state}`;
  if (vm.state !== 'Running' && vm.state !== 'Stopped')
    return `the VM is ${vm.state} (VM_STATE_INVALID: a revert needs it Running or Stopped)`;
  if (vm.state === 'Running' && n.type === 'Disk' && !restart)
    return 'the VM is Running (REVERT_NEEDS_STOP): stop it first, or allow a restart';
  return null;
}

/** The requested quiesce mode of each snapshot, from the job that took it. */
async function quiesceOf(session: Session, vmId: string): Promise<Map<string, string>> {
  const jobs = await session.api.get(
    '/v1/jobs',
    {},
    { resourceType: 'vm-snapshot', type: 'vm-snapshot.create', limit: 500 },
  );
  const m = new Map<string, string>();
  for (const j of jobs.items) {
    const input = j.input as { vmSnapshotId?: string; quiesce?: string } | null;
    if (input?.vmSnapshotId && input.quiesce) m.set(input.vmSnapshotId, input.quiesce);
  }
  void vmId;
  return m;
}

export function SnapshotTree({ session, vm, onChange }: { session: Session; vm: Vm; onChange: () => void }) {
  const { api } = session;
  const tree = useLoad(
    async () => {
      const t = await api.get('/v1/vms/{id}/snapshot-tree', { id: vm.id });
      const quiesce = await quiesceOf(session, vm.id).catch(() => new Map<string, string>());
      return { rows: treeRows(t.roots as unknown as TreeNode[], t.currentId), quiesce };
    },
    [vm.id],
    5000,
  );
  const [pending, setPending] = useState<Pending | null>(null);
  const [restart, setRestart] = useState(false);
  const [job, setJob] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const done = () => {
    tree.reload();
    onChange();
  };
  const confirm = async () => {
    if (!pending) return;
    setError(undefined);
    try {
      const id = pending.node.id;
      const r =
        pending.kind === 'revert'
          ? await api.post('/v1/vm-snapshots/{id}/revert', { id }, {}, restart ? { restart: true } : {})
          : await api.delete('/v1/vm-snapshots/{id}', { id });
      setJob(r.job.id);
    } catch (e) {
      setError(e as Error);
    }
    setPending(null);
  };
  const row = (r: TreeRow) => {
    const n = r.node;
    const blocked = revertBlocked(vm, n, restart);
    const size = sizeOf(n);
    return (
      <li
        key={n.id}
        class={`node${r.current ? ' current' : ''}${r.ancestorOfCurrent ? ' on-path' : ''}`}
        style={{ marginLeft: `${r.depth * 1.6}em` }}
        data-snapshot-id={n.id}
        data-current={r.current ? 'true' : 'false'}
        data-parent-id={n.parentId ?? ''}
      >
        <div class="node-head">
          <span class="link" aria-hidden="true">
            {r.depth > 0 ? (r.branch ? '├─' : '└─') : '●'}
          </span>
          <strong class="node-name">{n.name}</strong> <Badge state={n.state} />
          {r.current && <span class="here">you are here</span>}
          {r.branch && <span class="muted"> branch</span>}
        </div>
        <dl class="node-facts">
          <dt>type</dt>
          <dd>{n.type === 'DiskAndMemory' ? 'disk and memory' : 'disk only'}</dd>
          <dt>quiesce asked</dt>
          <dd>{tree.data?.quiesce.get(n.id) ?? 'unknown'}</dd>
          <dt>consistency</dt>
          <dd>{n.consistency ?? '–'}</dd>
          <dt>strategy</dt>
          <dd>{n.strategy ?? '–'}</dd>
          <dt>hold</dt>
          <dd>{ms(n.freezeMs)}</dd>
          <dt>size</dt>
          <dd class="size">
            {size !== null ? bytes(size) : <SnapshotSize api={api} id={n.id} ready={n.state === 'Ready'} />}
          </dd>
          <dt>taken</dt>
          <dd>{when(n.createdAt)}</dd>
        </dl>
        <div class="actions">
          <button
            disabled={blocked !== null}
            title={blocked ?? 'Revert the VM to this snapshot'}
            onClick={() => setPending({ kind: 'revert', node: n })}
          >
            Revert
          </button>
          <button
            disabled={n.state !== 'Ready'}
            title={n.state !== 'Ready' ? `the snapshot is ${n.state}` : 'Delete this snapshot'}
            onClick={() => setPending({ kind: 'delete', node: n })}
          >
            Delete
          </button>
          {blocked && <span class="reason">{blocked}</span>}
        </div>
      </li>
    );
  };
  return (
    <div class="snapshots">
      <TakeSnapshot session={session} vm={vm} onJob={setJob} />
      <label class="inline">
        <input type="checkbox" checked={restart} onChange={() => setRestart(!restart)} /> allow a revert to
        restart a running VM
      </label>
      {pending && (
        <div class="confirm" role="alertdialog" aria-label="confirm">
          <p>
            {pending.kind === 'revert' ? 'Revert' : 'Delete'} <strong>{pending.node.name}</strong>?{' '}
            {pending.kind === 'revert'
              ? 'The disks go back to this snapshot; what was written since is kept only in other snapshots.'
              : 'Its data is merged away; this cannot be undone.'}
          </p>
          <button class="danger" onClick={() => void confirm()}>
            Confirm {pending.kind}
          </button>{' '}
          <button onClick={() => setPending(null)}>Cancel</button>
        </div>
      )}
      <ErrorLine error={error ?? tree.error} />
      {job && <JobView key={job} api={api} id={job} onDone={done} />}
      {!tree.data ? (
        <Placeholder rows={4} />
      ) : tree.data.rows.length === 0 ? (
        <p class="muted">No snapshot yet.</p>
      ) : (
        <ul class="tree" aria-label="snapshot tree">
          {tree.data.rows.map(row)}
        </ul>
      )}
    </div>
  );
}
