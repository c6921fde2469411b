import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WRITER_FS_LOG, WRITER_MAGIC, WRITER_RECORD_SIZE } from './init-script.js';

const run = promisify(execFile);

/** One record the guest writer put on a disk. */
export interface WriterRecord {
  /** The writer's global sequence number, shared by every disk. */
  readonly seq: number;
  /** Guest wall clock at the write, microseconds since the epoch. */
  readonly timeUs: number;
  /** Record slot on the disk (wraps). */
  readonly slot: number;
  /** Guest device name, e.g. vdb. */
  readonly device: string;
  /** Disk serial as the guest sees it (virtio-blk keeps the first 20 characters). */
  readonly serial: string;
}

export interface ReadWriterLogOptions {
  /** Image format; qcow2 is first converted to raw (with -U, so a running guest's image reads). */
  readonly format?: 'raw' | 'qcow2';
  /** Bytes to scan from the start (default 64 MiB: where the writer wraps). */
  readonly maxBytes?: number;
}

/** Decodes one 512-byte block; undefined when it is not a writer record. */
export function decodeRecord(block: Buffer): WriterRecord | undefined {
  if (block.length < WRITER_RECORD_SIZE || block.toString('latin1', 0, WRITER_MAGIC.length) !== WRITER_MAGIC)
    return undefined;
  const text = block.toString('utf8', 0, WRITER_RECORD_SIZE).trimEnd();
  const m = /^\S+ (\d+) (\d+) (\d+) (\S+) ?(.*)$/.exec(text);
  if (!m) return undefined;
  return {
    seq: Number(m[1]),
    timeUs: Number(m[2]),
    slot: Number(m[3]),
    device: m[4] ?? '',
    serial: (m[5] ?? '').trim(),
  };
}

/** Decodes every record in a buffer. */
export function decodeRecords(data: Buffer): WriterRecord[] {
  const out: WriterRecord[] = [];
  for (let off = 0; off + WRITER_RECORD_SIZE <= data.length; off += WRITER_RECORD_SIZE) {
    const r = decodeRecord(data.subarray(off, off + WRITER_RECORD_SIZE));
    if (r) out.push(r);
  }
  return out;
}

async function readRaw(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, maxBytes - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total >= maxBytes) break;
    }
    return buf.subarray(0, total);
  } finally {
    await handle.close();
  }
}

async function withRawCopy<T>(image: string, fn: (raw: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-writer-'));
  try {
    const raw = join(dir, 'disk.raw');
    await run('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', image, raw], { timeout: 120_000 });
    return await fn(raw);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads the writer's raw records from an image, block device or file, sorted by sequence. */
export async function readWriterLog(
  path: string,
  options: ReadWriterLogOptions = {},
): Promise<WriterRecord[]> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const read = async (raw: string): Promise<WriterRecord[]> => decodeRecords(await readRaw(raw, maxBytes));
  const records = options.format === 'qcow2' ? await withRawCopy(path, read) : await read(path);
  return records.sort((a, b) => a.seq - b.seq);
}

/** Reads the writer's log file from an ext4 image (the root disk), via debugfs: no mount needed. */
export async function readWriterFsLog(
  image: string,
  format: 'raw' | 'qcow2' = 'qcow2',
): Promise<WriterRecord[]> {
  const read = async (raw: string): Promise<WriterRecord[]> => {
    const { stdout } = await run('debugfs', ['-R', `cat /${WRITER_FS_LOG}`, raw], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    return decodeRecords(stdout);
  };
  const records = format === 'qcow2' ? await withRawCopy(image, read) : await read(image);
  return records.sort((a, b) => a.seq - b.seq);
}
