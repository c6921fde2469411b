/** What GET /v1/volumes/{id}/iops answers, as far as the graph reads it. */
export interface IopsAnswer {
  readonly points: ReadonlyArray<{ readonly at: number; readonly iops: number }>;
  readonly qos?: {
    readonly minIops?: number;
    readonly maxIops?: number;
    readonly burstIops?: number;
  } | null;
  readonly windowMs: number;
}

/** The graph's columns: x in seconds (uPlot's unit), then IOPS, min, max and burst per point. */
export type IopsColumns = [number[], number[], (number | null)[], (number | null)[], (number | null)[]];

/**
 * The answer as uPlot's columns. A QoS figure of 0 is "no limit" (the API's meaning), so its line
 * is left out rather than drawn at zero. The x range ends at the last point and starts at the first
 * (at least a minute back, at most the window), so a young series is not squeezed into a corner.
 */
export function iopsColumns(a: IopsAnswer): { data: IopsColumns; xMin: number; xMax: number } {
  const x = a.points.map((p) => p.at / 1000);
  const line = (v: number | undefined) => x.map(() => (v && v > 0 ? v : null));
  const xMax = x.length > 0 ? x[x.length - 1]! : Date.now() / 1000;
  return {
    data: [
      x,
      a.points.map((p) => p.iops),
      line(a.qos?.minIops),
      line(a.qos?.maxIops),
      line(a.qos?.burstIops),
    ],
    // from the first point (at least a minute back), never further back than the window
    xMin: Math.max(xMax - Math.max(60, a.windowMs / 1000), Math.min(x[0] ?? xMax, xMax - 60)),
    xMax,
  };
}

/** The last point's IOPS and the highest in the window (for the summary line beside the graph). */
export function iopsSummary(a: IopsAnswer): { now: number | null; peak: number | null } {
  if (a.points.length === 0) return { now: null, peak: null };
  return { now: a.points[a.points.length - 1]!.iops, peak: Math.max(...a.points.map((p) => p.iops)) };
}
