/** Fixed msgr v2 monitor port: QEMU and libvirt reach the monitor here (6789 is not bound). */
export const MON_PORT = 3300;
export const MON_ADDR = `127.0.0.1:${MON_PORT}`;

export interface CephConfOptions {
  readonly dir: string;
  readonly fsid: string;
  /** Size of the sparse file bluestore uses as its block device. */
  readonly osdBytes: number;
}

/**
 * The cluster's ceph.conf. Daemon sections name their own keyrings; no section names the admin
 * keyring, so handing this file to a client process never hands it the admin key.
 */
export function renderCephConf({ dir, fsid, osdBytes }: CephConfOptions): string {
  const global: Record<string, string | number | boolean> = {
    fsid,
    'mon host': `v2:${MON_ADDR}`,
    'mon initial members': 'a',
    'public addr': '127.0.0.1',
    'ms bind msgr1': false,
    'auth cluster required': 'cephx',
    'auth service required': 'cephx',
    'auth client required': 'cephx',
    // Without these three, health stays WARN on a fresh cluster.
    'auth allow insecure global id reclaim': false,
    'mon warn on insecure global id reclaim': false,
    'mon warn on insecure global id reclaim allowed': false,
    // Without it every snapshot operation waits ~1 s for a paxos round.
    'paxos propose interval': 0.05,
    'osd pool default size': 1,
    'osd pool default min size': 1,
    'mon allow pool size one': true,
    'mon warn on pool no redundancy': false,
    'osd pool default pg autoscale mode': 'off',
    'mon data avail warn': 2,
    'osd crush chooseleaf type': 0,
    'rbd default clone format': 2,
  };
  // Daemons only: in [global] every client (rbd, ceph, QEMU) would bind the same admin socket and
  // parallel commands would collide on it.
  const daemon = {
    'run dir': `${dir}/run`,
    'admin socket': `${dir}/run/$name.asok`,
    'pid file': `${dir}/run/$name.pid`,
    'log file': `${dir}/log/$name.log`,
  };
  const sections: Record<string, Record<string, string | number | boolean>> = {
    global,
    mon: daemon,
    mgr: daemon,
    osd: daemon,
    'mon.a': { 'mon data': `${dir}/mon`, keyring: `${dir}/mon.keyring` },
    'mgr.x': { 'mgr data': `${dir}/mgr`, keyring: `${dir}/mgr/keyring` },
    'osd.0': {
      'osd data': `${dir}/osd`,
      keyring: `${dir}/osd/keyring`,
      'osd objectstore': 'bluestore',
      // Outside `osd data`: bluestore links `osd data/block` to this path.
      'bluestore block path': `${dir}/osd-block.img`,
      'bluestore block size': osdBytes,
      'osd memory target': 939_524_096,
    },
  };
  return (
    Object.entries(sections)
      .map(
        ([name, kv]) =>
          `[${name}]\n${Object.entries(kv)
            .map(([k, v]) => `${k} = ${String(v)}`)
            .join('\n')}`,
      )
      .join('\n\n') + '\n'
  );
}
