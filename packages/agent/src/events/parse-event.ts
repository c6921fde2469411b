/** A libvirt event as `virsh event --all --loop --timestamp` prints it, typed. */
export type LibvirtEvent =
  | {
      readonly kind: 'lifecycle';
      readonly at: Date;
      readonly vm: string;
      readonly event: string;
      readonly detail: string;
    }
  | {
      readonly kind: 'block-job';
      readonly at: Date;
      readonly vm: string;
      /** The disk target (vda…) for block-job-2 events, the source path for block-job ones. */
      readonly disk: string;
      readonly byTarget: boolean;
      readonly jobType: BlockJobType;
      readonly status: BlockJobStatus;
    }
  | {
      readonly kind: 'agent-lifecycle';
      readonly at: Date;
      readonly vm: string;
      readonly state: string;
      readonly reason: string;
    }
  | {
      readonly kind: 'other';
      readonly at: Date;
      readonly vm: string;
      readonly name: string;
      readonly detail: string;
    };

export type BlockJobType = 'pull' | 'copy' | 'commit' | 'active-commit' | 'backup' | 'unknown';
export type BlockJobStatus = 'completed' | 'failed' | 'canceled' | 'ready' | 'unknown';

const JOB_TYPES: Record<string, BlockJobType> = {
  'Block Pull': 'pull',
  'Block Copy': 'copy',
  'Block Commit': 'commit',
  'Active Block Commit': 'active-commit',
  Backup: 'backup',
};

// "2026-11-21 11:40:01.123+0000: event 'lifecycle' for domain 'vm': Started Booted"
// The domain name may hold quotes: the greedy group runs to the last "': ".
const LINE =
  /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4}): )?event '([\w-]+)' for domain '(.*)':(?: (.*))?$/;

function parseTime(stamp: string | undefined): Date {
  if (stamp === undefined) return new Date();
  const iso = stamp.replace(' ', 'T').replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

/** Parses one line of `virsh event` output; undefined for lines that are not events. */
export function parseEventLine(line: string): LibvirtEvent | undefined {
  const m = LINE.exec(line.trimEnd());
  if (!m) return undefined;
  const at = parseTime(m[1]);
  const name = m[2] ?? '';
  const vm = m[3] ?? '';
  const rest = m[4] ?? '';
  if (name === 'lifecycle') {
    const [event = '', ...detail] = rest.split(' ');
    return { kind: 'lifecycle', at, vm, event, detail: detail.join(' ') };
  }
  if (name === 'block-job' || name === 'block-job-2') {
    // "<Type> for <disk> <status>": the type has spaces, the status is the last word
    const bm = /^(.*?) for (.*) (\S+)$/.exec(rest);
    if (!bm) return { kind: 'other', at, vm, name, detail: rest };
    const status = bm[3] ?? '';
    return {
      kind: 'block-job',
      at,
      vm,
      disk: bm[2] ?? '',
      byTarget: name === 'block-job-2',
      jobType: JOB_TYPES[bm[1] ?? ''] ?? 'unknown',
      status: (['completed', 'failed', 'canceled', 'ready'] as const).find((s) => s === status) ?? 'unknown',
    };
  }
  if (name === 'agent-lifecycle') {
    const am = /state: '([^']*)' reason: '([^']*)'/.exec(rest);
    return { kind: 'agent-lifecycle', at, vm, state: am?.[1] ?? rest, reason: am?.[2] ?? '' };
  }
  return { kind: 'other', at, vm, name, detail: rest };
}
