import { checkOrder, guestExec, longestStallMs, WRITER_MAGIC, type WriterRecord } from '@strata/testing';

/** A KVM host the demo moves its VM between: its id in Strata and how to reach its libvirtd. */
export interface DemoHost {
  readonly id: string;
  readonly name: string;
  readonly uri: string;
  readonly initiatorName: string;
}

/**
 * The sequence number the guest's writer is at now, asked inside the guest (its last record is
 * kept in /run/rec while it is written), through the libvirtd at `uri` that runs it.
 */
export async function liveWriterSeq(domain: string, uri: string): Promise<number> {
  const r = await guestExec(domain, 'cat /run/rec', 30_000, uri);
  const m = new RegExp(`^${WRITER_MAGIC} (\\d+) `).exec(r.stdout);
  if (r.exitCode !== 0 || !m?.[1]) throw new Error(`no writer record in the guest: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** What the writer's history says of a span of its sequence (a migration's). */
export interface WritingThrough {
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Sequence numbers in the span that no disk holds: writes the guest never made, or lost. */
  readonly missing: number;
  /** The longest gap between consecutive writes in the span, on the guest's clock. */
  readonly longestGapMs: number;
}

/** Reads the span [fromSeq, toSeq] from every disk's records, merged. */
export function writingThrough(
  records: readonly WriterRecord[],
  fromSeq: number,
  toSeq: number,
): WritingThrough {
  const span = records.filter((r) => r.seq >= fromSeq && r.seq <= toSeq);
  const seqs = new Set(span.map((r) => r.seq));
  let missing = 0;
  for (let s = fromSeq; s <= toSeq; s++) if (!seqs.has(s)) missing++;
  const order = checkOrder(span);
  return {
    fromSeq,
    toSeq,
    missing: missing + order.duplicates.length,
    longestGapMs: longestStallMs(span),
  };
}
