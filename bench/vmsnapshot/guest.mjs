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

// The I/O region of the data disk: past the writer's 64 MiB ring, 32 MiB of 64 KiB clusters (the
// qcow2 cluster size). Each snapshot round rewrites one MiB of it, scattered: every 32nd cluster.
export const REGION_MIB = 128;
export const REGION_CLUSTERS = 512;
const ROUND_STRIDE = 32;
const CLUSTERS_PER_ROUND = REGION_CLUSTERS / ROUND_STRIDE;

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

/**
 * Round i's writes before its snapshot: fresh data into clusters i, i+32, i+64, … of the region
 * (1 MiB in all, synced). A guest's writes between two snapshots land all over its disk; after 32
 * rounds neighbouring clusters sit in different layers, so a sequential read changes layer at
 * every cluster and can no longer be served by one request to one file.
 */
export async function writeChunk(domain, disk, i) {
  const first = REGION_MIB * 16 + i;
  await exec(
    domain,
    `j=0; while [ $j -lt ${CLUSTERS_PER_ROUND} ]; do dd if=/dev/urandom of=/dev/${disk} bs=64k seek=$((${first} + j * ${ROUND_STRIDE})) count=1 oflag=direct conv=fsync 2>/dev/null || exit 1; j=$((j + 1)); done`,
  );
}

export async function fillRegion(domain, disk) {
  await exec(
    domain,
    `dd if=/dev/urandom of=/dev/${disk} bs=1M seek=${REGION_MIB} count=${REGION_CLUSTERS / 16} oflag=direct conv=fsync`,
  );
}

/**
 * One I/O sample: the whole 32 MiB region read with O_DIRECT in 1 MiB requests and again in
 * 64 KiB ones (every read walks the chain down to the layers holding its clusters), then 2 MiB
 * written in 4 KiB O_DIRECT writes (the first write into each cluster copies it up from the
 * chain). `pass` picks a fresh 2 MiB for the writes, so every sample copies up the same amount.
 * MiB/s over all three; the disks are cache='none', so every read reaches the pool's files.
 */
export async function ioSample(domain, disk, pass) {
  const region = REGION_CLUSTERS * 64 * 1024;
  const readLarge = await timedDd(
    domain,
    `dd if=/dev/${disk} of=/dev/null bs=1M skip=${REGION_MIB} count=${REGION_CLUSTERS / 16} iflag=direct`,
    region,
  );
  const readSmall = await timedDd(
    domain,
    `dd if=/dev/${disk} of=/dev/null bs=64k skip=${REGION_MIB * 16} count=${REGION_CLUSTERS} iflag=direct`,
    region,
  );
  const write = await timedDd(
    domain,
    `dd if=/dev/zero of=/dev/${disk} bs=4k seek=${(REGION_MIB + 2 * pass) * 256} count=512 oflag=direct`,
    2 * 2 ** 20,
  );
  const all = [readLarge, readSmall, write];
  const mib = (xs) => xs.reduce((a, x) => a + x.bytes, 0) / 2 ** 20;
  const seconds = (xs) => xs.reduce((a, x) => a + x.seconds, 0);
  return {
    mibPerS: mib(all) / seconds(all),
    readMibPerS: mib([readLarge, readSmall]) / seconds([readLarge, readSmall]),
    writeMibPerS: mib([write]) / seconds([write]),
  };
}
