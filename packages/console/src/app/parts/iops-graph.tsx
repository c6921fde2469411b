import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import type { Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { iopsColumns, iopsSummary } from '../iops-series.js';
import { ErrorLine } from './common.js';

const HEIGHT = 240;
/** How often the page asks again: the host samples every 2 s. */
const REFRESH_MS = 2000;

const cssVar = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function options(width: number): uPlot.Options {
  const fg = cssVar('--fg', '#222');
  const line = cssVar('--line', '#ccc');
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, (max ?? 0) * 1.15)] } },
    legend: { live: false },
    axes: [axis, { ...axis, label: 'IOPS', size: 60 }],
    series: [
      {},
      { label: 'IOPS', stroke: cssVar('--accent', '#2563eb'), width: 2, points: { show: false } },
      { label: 'min', stroke: cssVar('--ok', '#16a34a'), dash: [6, 4], width: 1.5, points: { show: false } },
      {
        label: 'max',
        stroke: cssVar('--warn', '#d97706'),
        dash: [6, 4],
        width: 1.5,
        points: { show: false },
      },
      {
        label: 'burst',
        stroke: cssVar('--bad', '#dc2626'),
        dash: [2, 4],
        width: 1.5,
        points: { show: false },
      },
    ],
  };
}

/**
 * A volume's IOPS over the last minutes (GET /v1/volumes/{id}/iops, asked every 2 s) against the
 * min, max and burst of its QoS. Its box has a fixed height, so nothing moves while it loads.
 */
export function IopsGraph({ session, volumeId }: { session: Session; volumeId: string }) {
  const answer = useLoad(
    () => session.api.get('/v1/volumes/{id}/iops', { id: volumeId }),
    [volumeId],
    REFRESH_MS,
  );
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(el.clientWidth || 600), [[], [], [], [], []], el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);
  const a = answer.data;
  useEffect(() => {
    if (!a || !plot.current) return;
    const { data, xMin, xMax } = iopsColumns(a);
    plot.current.batch(() => {
      plot.current!.setData(data, false);
      plot.current!.setScale('x', { min: xMin, max: xMax });
    });
  }, [a]);
  const { now, peak } = a ? iopsSummary(a) : { now: null, peak: null };
  const q = a?.qos;
  return (
    <section class="iops" data-testid="iops-graph" data-points={a?.points.length ?? 0} data-peak={peak ?? 0}>
      <h2>IOPS</h2>
      <p class="muted iops-summary">
        {now !== null ? (
          <>
            now <strong data-testid="iops-now">{now}</strong> IOPS · peak {peak} in the last{' '}
            {Math.round((a?.windowMs ?? 0) / 60_000)} min
          </>
        ) : (
          (a?.reason ?? 'asking the host…')
        )}
        {' · '}
        {q ? `QoS min ${q.minIops ?? 0} / max ${q.maxIops ?? 0} / burst ${q.burstIops ?? 0}` : 'no QoS'}
        {a?.deviceName && (
          <>
            {' · device '}
            <span class="mono">{a.deviceName}</span>
          </>
        )}
      </p>
      <div class="iops-plot" ref={box} style={{ height: `${HEIGHT + 40}px` }} />
      <ErrorLine error={answer.error} />
    </section>
  );
}
