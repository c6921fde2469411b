import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { libvirtAnswers } from '../libvirt/ensure-libvirt.js';
import { checkHostName, testInitiatorName } from './host-config.js';
import { DEFAULT_HOST_STATE_DIR, makeHostDirs } from './host-dirs.js';
import { bootHost, hostHandle, hostUri, type KvmHost } from './kvm-host.js';
import { endHostProcesses, enterNamespaceOf, holdNamespace } from './namespace.js';
import { processAlive } from '../ceph/lock.js';
import { startTimeOf } from './stale-hosts.js';

/** What a kept host records of its namespace holder: its pid and start time (pids are reused). */
const HOLDER_FILE = 'holder';

async function liveHolder(dir: string): Promise<number | undefined> {
  const [pid, started] = (await readFile(join(dir, HOLDER_FILE), 'utf8').catch(() => '')).split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || !processAlive(n)) return undefined;
  return started !== undefined && started.trim() === (await startTimeOf(n)) ? n : undefined;
}

/** What the host's own files say of it: its initiator name and host_uuid. */
async function identityOf(dir: string): Promise<{ initiatorName?: string; hostUuid?: string }> {
  const iscsi = await readFile(join(dir, 'iscsi', 'initiatorname.iscsi'), 'utf8').catch(() => '');
  const conf = await readFile(join(dir, 'etc', 'libvirtd.conf'), 'utf8').catch(() => '');
  const initiatorName = /^InitiatorName=(\S+)$/m.exec(iscsi)?.[1];
  const hostUuid = /^host_uuid = "([^"]+)"$/m.exec(conf)?.[1];
  return { ...(initiatorName && { initiatorName }), ...(hostUuid && { hostUuid }) };
}

/**
 * A KVM host that outlives the process that starts it (the README's bring-up leaves two running,
 * with the demo's VM on one): its directories under `root`/`name`, its namespace held by a process
 * in a session of its own. When it already runs (an earlier bring-up), it is reused as it is;
 * when its directories survive but its processes do not (a reboot), it starts again on them,
 * keeping its initiator name and its agent's credentials. `stop()` removes it for good.
 */
export async function ensureKeptKvmHost(o: {
  readonly name: string;
  readonly root: string;
  readonly hostStateDir?: string;
}): Promise<{ host: KvmHost; reused: boolean }> {
  const name = checkHostName(o.name);
  const hostStateDir = o.hostStateDir ?? DEFAULT_HOST_STATE_DIR;
  const dir = join(o.root, name);
  const known = await identityOf(dir);
  const holder = await liveHolder(dir);
  if (holder !== undefined && known.initiatorName && known.hostUuid) {
    if ((await libvirtAnswers(hostUri(dir))) !== undefined) {
      const ns = enterNamespaceOf(holder);
      const ids = { initiatorName: known.initiatorName, hostUuid: known.hostUuid };
      return { host: hostHandle(ns, { name, dir, hostStateDir, ...ids }), reused: true };
    }
  }
  // whatever is left of it runs no more as a host: end it, keep its directories
  await endHostProcesses(join(dir, 'run'));
  await mkdir(o.root, { recursive: true, mode: 0o755 });
  const initiatorName = known.initiatorName ?? testInitiatorName(name);
  const { hostUuid } = await makeHostDirs(dir, { name, initiatorName, hostStateDir });
  const ns = await holdNamespace(true);
  await writeFile(join(dir, HOLDER_FILE), `${ns.pid} ${await startTimeOf(ns.pid)}`);
  const host = hostHandle(ns, { name, dir, hostStateDir, initiatorName, hostUuid });
  try {
    await bootHost(ns, name, dir, hostStateDir);
  } catch (e) {
    await host.stop().catch(() => undefined);
    throw e;
  }
  return { host, reused: false };
}
