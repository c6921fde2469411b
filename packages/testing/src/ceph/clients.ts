import { cephAdmin, type CephCluster } from './launcher.js';

export interface CephClient {
  /** cephx id without the `client.` prefix, as libvirt's `<auth username=...>` takes it. */
  readonly id: string;
  /** Full cephx entity, `client.<id>`. */
  readonly entity: string;
  /** base64 secret, as a libvirt secret of usage type `ceph` takes it. */
  readonly key: string;
}

type Admin = Pick<CephCluster, 'confPath' | 'adminKeyringPath'>;

/**
 * Creates (or returns) a cephx user limited to rbd on one pool: what a hypervisor host gets,
 * never the admin key. Idempotent: the same id returns the same key.
 */
export async function createCephClient(cluster: Admin, id: string, pool: string): Promise<CephClient> {
  const entity = `client.${id}`;
  const { stdout } = await cephAdmin(cluster, [
    'auth',
    'get-or-create',
    entity,
    'mon',
    'profile rbd',
    'osd',
    `profile rbd pool=${pool}`,
    'mgr',
    `profile rbd pool=${pool}`,
    '--format',
    'json',
  ]);
  const parsed = JSON.parse(stdout) as Array<{ entity: string; key: string }>;
  const key = parsed[0]?.key;
  if (!key) throw new Error(`ceph auth get-or-create ${entity} returned no key`);
  return { id, entity, key };
}

/** Removes a cephx user; absent users are fine (idempotent). */
export async function deleteCephClient(cluster: Admin, id: string): Promise<void> {
  await cephAdmin(cluster, ['auth', 'rm', `client.${id}`]);
}

/** A keyring file body for one client, for `rbd --keyring` as that client. */
export function clientKeyring(client: CephClient): string {
  return `[${client.entity}]\n\tkey = ${client.key}\n`;
}
