import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes } from '../format.js';
import { ErrorLine } from '../parts/common.js';
import { Confirm } from '../parts/dialog.js';
import { waitJob } from '../api/wait-job.js';

const GiB = 1024 ** 3;

interface Plan {
  readonly name: string;
  readonly templateId: string;
  readonly serviceOfferingId: string;
  readonly poolId: string;
  readonly rootGiB: number;
  /** Data disks to create and attach, in GiB. */
  readonly dataGiB: readonly number[];
  readonly start: boolean;
}

const str = (f: FormData, k: string) => ((f.get(k) as string | null) ?? '').trim();

/**
 * Deploys a VM: the API's one deploy job (ROOT cloned from the template), then each data disk
 * created and attached, then a start when asked. Each step's job is waited for in turn.
 */
export function DeployVm({ session, onDone }: { session: Session; onDone: (vmId: string) => void }) {
  const { api } = session;
  const choices = useLoad(
    async () => ({
      templates: (await api.get('/v1/templates', {}, { limit: 100 })).items,
      offerings: (await api.get('/v1/service-offerings', {}, { limit: 100 })).items,
      pools: session.operator
        ? (await api.get('/v1/storage-pools', {}, { limit: 100 })).items.filter((p) => p.state === 'Up')
        : [],
    }),
    [],
  );
  const [disks, setDisks] = useState<number[]>([]);
  const [plan, setPlan] = useState<Plan | null>(null);
  const [progress, setProgress] = useState('');
  const [error, setError] = useState<Error | undefined>(undefined);
  const run = async (p: Plan) => {
    setError(undefined);
    try {
      setProgress('deploying');
      const d = await api.post(
        '/v1/vms/deploy',
        {},
        {
          name: p.name,
          templateId: p.templateId,
          start: p.start && p.dataGiB.length === 0,
          ...(p.serviceOfferingId && { serviceOfferingId: p.serviceOfferingId }),
          ...(p.poolId && { poolId: p.poolId }),
          ...(p.rootGiB > 0 && { rootSizeBytes: Math.round(p.rootGiB * GiB) }),
        },
      );
      await waitJob(api, d.job.id);
      for (const [i, gib] of p.dataGiB.entries()) {
        setProgress(`data disk ${i + 1} of ${p.dataGiB.length}`);
        const v = await api.post(
          '/v1/volumes',
          {},
          {
            name: `${p.name} data ${i + 1}`,
            sizeBytes: Math.round(gib * GiB),
            ...(p.poolId && { poolId: p.poolId }),
          },
        );
        await waitJob(api, v.job.id);
        await waitJob(
          api,
          (await api.post('/v1/volumes/{id}/attach', { id: v.resource.id }, { vmId: d.resource.id })).job.id,
        );
      }
      if (p.start && p.dataGiB.length > 0) {
        setProgress('starting');
        await waitJob(api, (await api.post('/v1/vms/{id}/start', { id: d.resource.id }, {})).job.id);
      }
      setProgress('');
      onDone(d.resource.id);
    } catch (e) {
      setProgress('');
      setError(e as Error);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    setPlan({
      name: str(f, 'vm-name'),
      templateId: str(f, 'template'),
      serviceOfferingId: str(f, 'offering'),
      poolId: str(f, 'pool'),
      rootGiB: Number(str(f, 'root-gib') || 0),
      dataGiB: disks.map((_, i) => Number(str(f, `data-gib-${i}`) || 1)),
      start: f.get('start') === 'on',
    });
  };
  const c = choices.data;
  return (
    <form class="deploy" aria-label="deploy a VM" onSubmit={submit}>
      <label>
        Name <input name="vm-name" required maxLength={255} />
      </label>
      <label>
        Template
        <select name="template" required>
          {c?.templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({bytes(t.sizeBytes)})
            </option>
          ))}
        </select>
      </label>
      <label>
        Offering
        <select name="offering">
          <option value="">none (the API's defaults)</option>
          {c?.offerings.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}: {o.cpus} CPU, {bytes(o.memoryBytes)}
            </option>
          ))}
        </select>
      </label>
      {session.operator && (
        <label>
          Pool
          <select name="pool">
            <option value="">placement's choice</option>
            {c?.pools.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.provider})
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        ROOT GiB <input name="root-gib" type="number" min={0} step="any" placeholder="template's" />
      </label>
      {disks.map((_, i) => (
        <label key={i}>
          Data disk {i + 1} GiB{' '}
          <input name={`data-gib-${i}`} type="number" min={0.01} step="any" defaultValue="1" />
        </label>
      ))}
      <button type="button" onClick={() => setDisks([...disks, 1])}>
        Add data disk
      </button>
      {disks.length > 0 && (
        <button type="button" onClick={() => setDisks(disks.slice(0, -1))}>
          Remove data disk
        </button>
      )}
      <label class="inline">
        <input type="checkbox" name="start" /> start it
      </label>
      <button type="submit" disabled={!c || Boolean(progress)}>
        Deploy
      </button>
      {progress && (
        <span class="muted" role="status">
          {progress}…
        </span>
      )}
      <ErrorLine error={error ?? choices.error} />
      {plan && (
        <Confirm
          title="Deploy this VM?"
          label="Confirm deploy"
          onClose={() => setPlan(null)}
          onConfirm={() => void run(plan)}
        >
          <p>
            <strong>{plan.name}</strong> from the template, ROOT{' '}
            {plan.rootGiB > 0 ? `${plan.rootGiB} GiB` : "of the template's size"}
            {plan.dataGiB.length > 0 && `, data disks of ${plan.dataGiB.join(', ')} GiB`}
            {plan.start ? ', then started' : ', left stopped'}.
          </p>
        </Confirm>
      )}
    </form>
  );
}
