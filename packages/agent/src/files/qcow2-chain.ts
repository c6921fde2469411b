import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ChainLayer } from '@strata/core';

const run = promisify(execFile);

/** One image of a backing chain, top (the active layer) first. */
export type { ChainLayer };

const QCOW2_MAGIC = 0x514649fb;
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
/** Incompatible-feature bit 2: the guest data lives in an external data file. */
const INCOMPAT_DATA_FILE = 1n << 2n;
/** A chain deeper than this is not ours to read by hand: qemu-img decides. */
const MAX_LAYERS = 1_000;
const HEAD_BYTES = 64 * 1024;
/** The qcow2 format's own bound on a backing file name: a header asking for more is not trusted. */
const MAX_BACKING_NAME = 1023;

/** Not a plain chain of local files: qemu-img reads it instead. */
class Unusual extends Error {}

/**
 * One image's header: its format, and the backing file it names (resolved against the image's
 * directory, as QEMU does) with that file's format. Throws Unusual for anything beyond a plain
 * local qcow2 or raw file.
 */
async function readHeader(
  path: string,
  formatHint: string | null,
): Promise<{ format: string; backing: string | null; backingFormat: string | null }> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await file.read(head, 0, HEAD_BYTES, 0);
    const isQcow2 = bytesRead >= 72 && head.readUInt32BE(0) === QCOW2_MAGIC;
    if (!isQcow2) {
      // Without the qcow2 magic, only a file named raw by its parent is known for sure.
      if (formatHint !== 'raw') throw new Unusual(`${path}: not qcow2 and not named raw`);
      return { format: 'raw', backing: null, backingFormat: null };
    }
    if (formatHint !== null && formatHint !== 'qcow2') throw new Unusual(`${path}: named ${formatHint}`);
    const version = head.readUInt32BE(4);
    const backingOffset = Number(head.readBigUInt64BE(8));
    const backingSize = head.readUInt32BE(16);
    let backingFormat: string | null = null;
    if (version >= 3) {
      if ((head.readBigUInt64BE(72) & INCOMPAT_DATA_FILE) !== 0n) throw new Unusual(`${path}: data file`);
      backingFormat = extensionFormat(head.subarray(0, bytesRead), head.readUInt32BE(100));
    } else if (version === 2) {
      backingFormat = extensionFormat(head.subarray(0, bytesRead), 72);
    } else {
      throw new Unusual(`${path}: qcow2 version ${version}`);
    }
    if (backingOffset === 0 || backingSize === 0) return { format: 'qcow2', backing: null, backingFormat };
    if (backingSize > MAX_BACKING_NAME) throw new Unusual(`${path}: backing name of ${backingSize} bytes`);
    const name = Buffer.alloc(backingSize);
    const got = await file.read(name, 0, backingSize, backingOffset);
    if (got.bytesRead !== backingSize) throw new Unusual(`${path}: short backing name`);
    const text = name.toString('utf8');
    // A protocol or json: name (rbd:..., nbd://...) is no local file.
    if (/^[a-z][a-z0-9+.-]*:/i.test(text)) throw new Unusual(`${path}: backing ${text}`);
    return {
      format: 'qcow2',
      backing: isAbsolute(text) ? text : resolve(dirname(path), text),
      backingFormat,
    };
  } finally {
    await file.close();
  }
}

/** The backing-format header extension, if the header carries one. */
function extensionFormat(head: Buffer, start: number): string | null {
  let at = start;
  while (at + 8 <= head.length) {
    const type = head.readUInt32BE(at);
    const length = head.readUInt32BE(at + 4);
    if (type === EXT_END) return null;
    if (at + 8 + length > head.length) throw new Unusual('header extensions past the first 64 KiB');
    if (type === EXT_BACKING_FORMAT) return head.toString('utf8', at + 8, at + 8 + length);
    at += 8 + Math.ceil(length / 8) * 8;
  }
  throw new Unusual('header extensions without an end');
}

/** The chain read straight from the images' headers; throws Unusual when qemu-img must decide. */
async function readChainHeaders(path: string): Promise<ChainLayer[]> {
  const chain: ChainLayer[] = [];
  let next: string | null = path;
  let hint: string | null = null;
  while (next !== null) {
    if (chain.length >= MAX_LAYERS || chain.some((l) => l.path === next)) throw new Unusual('loop');
    const h = await readHeader(next, hint);
    chain.push({ path: next, format: h.format });
    // A backing file without a recorded format would be probed by QEMU: let qemu-img do it.
    if (h.backing !== null && h.backingFormat === null) throw new Unusual(`${next}: unnamed backing format`);
    next = h.backing;
    hint = h.backingFormat;
  }
  return chain;
}

/** What `qemu-img info --backing-chain` reports (-U: a running QEMU may hold the active layer). */
async function qemuImgChain(path: string, signal?: AbortSignal): Promise<ChainLayer[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path], {
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
    ...(signal && { signal }),
  });
  const parsed = JSON.parse(stdout) as unknown;
  const images = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ filename: string; format: string }>;
  return images.map((i) => ({ path: i.filename, format: i.format }));
}

/**
 * The chain read from the images' headers alone; null when it is not a plain chain of local qcow2
 * files over a qcow2 or raw base (protocol backings, external data files, unrecorded backing
 * formats, old versions) or a header cannot be read.
 */
export async function chainFromHeaders(path: string): Promise<ChainLayer[] | null> {
  return readChainHeaders(path).catch(() => null);
}

/**
 * A qcow2 file's backing chain, itself first. Plain chains (every chain Strata makes) are read
 * from the images' headers: a few small reads instead of a qemu-img process, which costs tens of
 * milliseconds on the path of every VM snapshot. Anything else, and any failure, is qemu-img's to
 * answer (a missing file fails there).
 */
export async function backingChainOf(path: string, signal?: AbortSignal): Promise<ChainLayer[]> {
  return (await chainFromHeaders(path)) ?? qemuImgChain(path, signal);
}
