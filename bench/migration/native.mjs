// Plain `virsh migrate --live` of the same domain, with what Strata's agent passes
// (packages/agent/src/vm/migrate.ts): a destination definition whose network disks open as the
// destination (its initiator name, its cephx user and secret), `--persistent --undefinesource`,
// `--unsafe` for the shared qcow2 directory, and QEMU's data over `--migrateuri`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { now } from './records.mjs';

const run = promisify(execFile);
export const virshAt = (uri, args, timeoutMs = 600_000) =>
  run('virsh', ['-q', '-c', uri, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });

const DISK = /<disk\b[\s\S]*?<\/disk>/g;
const SOURCE = /<source\b[^>]*\/>|<source\b[\s\S]*?<\/source>/;
const AUTH = /<auth\b[\s\S]*?<\/auth>\s*/g;
const targetOf = (block) => /<target dev=['"]([^'"]+)['"]/.exec(block)?.[1];

/**
 * How the host whose libvirt is `uri` opens the running domain's network disks: per target, its
 * `<source>` with any `<auth>` (inside or beside it). Read while the domain runs there.
 */
export async function networkSources(uri, domain) {
  const { stdout } = await virshAt(uri, ['dumpxml', '--migratable', '--domain', domain]);
  const out = new Map();
  for (const block of stdout.match(DISK) ?? []) {
    if (!/^<disk\b[^>]*type=['"]network['"]/.test(block)) continue;
    const source = SOURCE.exec(block)?.[0];
    const target = targetOf(block);
    if (!source || !target) throw new Error(`a network disk without source or target: ${block}`);
    const beside = block.replace(SOURCE, '').match(/<auth\b[\s\S]*?<\/auth>/g) ?? [];
    out.set(target, [...beside, source].join('\n'));
  }
  return out;
}

/** The domain's XML with each network disk's source and auth replaced by the destination's. */
export function withSources(xml, sources) {
  let replaced = 0;
  const out = xml.replace(DISK, (block) => {
    const fresh = sources.get(targetOf(block));
    if (fresh === undefined) return block;
    replaced++;
    return block.replace(AUTH, '').replace(SOURCE, () => fresh);
  });
  if (replaced !== sources.size) throw new Error(`replaced ${replaced} of ${sources.size} network disks`);
  return out;
}

/**
 * Migrates `domain` live from the libvirt at `from` to the one at `to`; `sources` are the
 * destination's (networkSources). Answers the migrate command's time (the dumpxml before it,
 * which Strata's agent also does, is not counted).
 */
export async function nativeMigrate({ domain, from, to, sources, unsafe, migrateUri }) {
  const xml = (await virshAt(from, ['dumpxml', '--migratable', '--domain', domain])).stdout;
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-migration-'));
  try {
    const path = join(dir, 'destination.xml');
    await writeFile(path, withSources(xml, sources), { mode: 0o600 });
    const args = [
      'migrate',
      '--live',
      '--persistent',
      '--undefinesource',
      '--xml',
      path,
      '--persistent-xml',
      path,
    ];
    if (unsafe) args.push('--unsafe');
    if (migrateUri) args.push('--migrateuri', migrateUri);
    args.push('--domain', domain, '--desturi', to);
    const t0 = now();
    await virshAt(from, args);
    return { t0, t1: now() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
