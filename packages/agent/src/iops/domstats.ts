/** One disk's cumulative counters as `virsh domstats --block` prints them. */
export interface DiskCounters {
  readonly target: string;
  /** The disk's source (a file, an rbd image…): a new source under the same target is a new disk. */
  readonly path: string;
  readonly rdReqs: number;
  readonly wrReqs: number;
}

/**
 * Parses `virsh -q domstats --block` output: a `Domain: 'name'` line, then `block.N.field=value`
 * lines. The name is everything between the first `'` and the last, so names with quotes survive.
 * Disks without counters (an empty CD-ROM) are left out.
 */
export function parseDomStats(text: string): Map<string, DiskCounters[]> {
  const out = new Map<string, DiskCounters[]>();
  let fields: Map<string, Map<string, string>> | null = null;
  let domain: string | null = null;
  const flush = () => {
    if (domain === null || fields === null) return;
    const disks: DiskCounters[] = [];
    for (const f of fields.values()) {
      const target = f.get('name');
      const rd = Number(f.get('rd.reqs'));
      const wr = Number(f.get('wr.reqs'));
      if (!target || !f.has('rd.reqs') || !Number.isFinite(rd) || !Number.isFinite(wr)) continue;
      disks.push({ target, path: f.get('path') ?? '', rdReqs: rd, wrReqs: wr });
    }
    out.set(domain, disks);
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('Domain: ')) {
      flush();
      const body = line.slice('Domain: '.length);
      domain = body.startsWith("'") && body.endsWith("'") && body.length >= 2 ? body.slice(1, -1) : body;
      fields = new Map();
      continue;
    }
    const m = /^block\.(\d+)\.([\w.]+)=(.*)$/.exec(line);
    if (!m || fields === null) continue;
    const [, index, key, value] = m as unknown as [string, string, string, string];
    let f = fields.get(index);
    if (!f) fields.set(index, (f = new Map<string, string>()));
    f.set(key, value);
  }
  flush();
  return out;
}
