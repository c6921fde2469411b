// Guest-side measurements for bench/vmsnapshot: the writer's stall around one snapshot (from its
// own records on the data disk) and the guest's I/O throughput (dd inside the guest).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentCommand, guestExec, readWriterLog } from '@strata/testing';

const run = promisify(execFile);

/** Guest clock minus host clock, in ms (the writer stamps records with the guest's clock). */
export async function guestClockOffsetMs(domain) {
  const h0 = Date.now();
  const ns = await agentCommand(domain, { execute: 'guest-get-time' });
  const h1 = Date.now();
  return Number(BigInt(ns) / 1_000_000n) - (h0 + h1) / 2;
}

/**
 * The writer's records on a raw-records disk (its first 64 MiB, where the writer wraps), read
 * from the live qcow2 chain with -U: every record was fsynced by the guest before the next.
 */
export async function liveRecords(activePath) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-records-'));
  try {
    const raw = join(dir, 'head.raw');
    const args = [
      'dd',
      '-U',
      '-f',
      'qcow2',
      '-O',
      'raw',
      'bs=1M',
      'count=64',
      `if=${activePath}`,
      `of=${raw}`,
    ];
    await run('qemu-img', args, { timeout: 120_000 });
    return await readWriterLog(raw, { format: 'raw' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The writer's longest gap that overlaps the host interval [fromMs, toMs] (shifted onto the
 * guest's clock): the snapshot's stall as the guest saw it. Also the writer's normal gap (the
 * median over the records outside any window), so a stall can be read as gap minus normal.
 */
export function stallAround(records, fromMs, toMs, offsetMs, marginMs = 100) {
  const from = (fromMs + offsetMs - marginMs) * 1000;
  const to = (toMs + offsetMs + marginMs) * 1000;
  let longest = 0;
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1].timeUs;
    const b = records[i].timeUs;
    if (b >= from && a <= to) longest = Math.max(longest, (b - a) / 1000);
  }
  return longest;
}

/** Median gap between consecutive records in the host interval (the writer's normal pace). */
export function normalGapMs(records, fromMs, toMs, offsetMs) {
  const gaps = [];
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1].timeUs / 1000 - offsetMs;
    const b = records[i].timeUs / 1000 - offsetMs;
    if (a >= fromMs && b <= toMs) gaps.push(b - a);
  }
  gaps.sort((x, y) => x - y);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)] : NaN;
}

// The I/O region of the data disk: past the writer's 64 MiB ring, 32 MiB (one MiB per snapshot).
const REGION_MIB = 128;
const CHUNKS = 32;

// busybox dd prints no timing: the script reads the guest's clock (adjtimex, as the writer does)
// around the dd and prints the microseconds it took.
const CLOCK =
  'now() { adjtimex > /run/bench-adj; while read k v r; do case "$k" in time.tv_sec:) s=$v ;; time.tv_usec:) u=$v ;; esac; done < /run/bench-adj; echo $((s*1000000+u)); }';

async function timedDd(domain, dd, bytes) {
  const out = (await exec(domain, `${CLOCK}; t0=$(now); ${dd} 2>/dev/null; t1=$(now); echo $((t1-t0))`))
    .stdout;
  const us = Number(out.trim().split('\n').at(-1));
  if (!(us > 0)) throw new Error(`no timing from the guest: ${out}`);
  return { bytes, seconds: us / 1e6 };
}

async function exec(domain, script, timeoutMs = 300_000) {
  const r = await guestExec(domain, script, timeoutMs);
  if (r.exitCode !== 0) throw new Error(`guest: ${script}: exit ${r.exitCode}: ${r.stderr}`);
  return r;
}

/** Rewrites chunk i of the region (1 MiB of fresh data, synced): each snapshot layer gets one. */
export async function writeChunk(domain, disk, i) {
  await exec(
    domain,
    `dd if=/dev/urandom of=/dev/${disk} bs=1M seek=${REGION_MIB + i} count=1 oflag=direct conv=fsync`,
  );
}

export async function fillRegion(domain, disk) {
  await exec(
    domain,
    `dd if=/dev/urandom of=/dev/${disk} bs=1M seek=${REGION_MIB} count=${CHUNKS} oflag=direct conv=fsync`,
  );
}

/**
 * One I/O sample: the whole 32 MiB region read with O_DIRECT in 64 KiB requests (every read
 * walks the chain down to the layer holding its chunk), then 2 MiB written in 4 KiB O_DIRECT
 * writes (the first write into each cluster copies it up from the chain). `pass` picks a fresh
 * 2 MiB for the writes, so every sample copies up the same amount. MiB/s over both.
 */
export async function ioSample(domain, disk, pass) {
  const read = await timedDd(
    domain,
    `dd if=/dev/${disk} of=/dev/null bs=64k skip=${REGION_MIB * 16} count=${CHUNKS * 16} iflag=direct`,
    CHUNKS * 2 ** 20,
  );
  const write = await timedDd(
    domain,
    `dd if=/dev/zero of=/dev/${disk} bs=4k seek=${(REGION_MIB + 2 * pass) * 256} count=512 oflag=direct`,
    2 * 2 ** 20,
  );
  const mib = (read.bytes + write.bytes) / 2 ** 20;
  return {
    mibPerS: mib / (read.seconds + write.seconds),
    readMibPerS: read.bytes / 2 ** 20 / read.seconds,
    writeMibPerS: write.bytes / 2 ** 20 / write.seconds,
  };
}
