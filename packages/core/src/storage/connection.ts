import type { Qos } from '../domain/qos.js';

/**
 * A secret a host needs (CHAP password, cephx key). `usage` is a stable name the host agent
 * stores it under (a libvirt secret's usage id); `value` is the secret itself and MUST NOT be
 * logged or persisted by the server beyond handing it to the host.
 */
export interface SecretRef {
  readonly usage: string;
  readonly value: string;
}

export interface FileConnection {
  readonly adaptor: 'file';
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
}

export interface IscsiConnection {
  readonly adaptor: 'iscsi';
  /** host:port of the target portal. */
  readonly portal: string;
  readonly iqn: string;
  readonly lun: number;
  /** The initiator name the host must present (the one granted access). */
  readonly initiator: string;
  readonly chap?: { readonly username: string; readonly secret: SecretRef };
}

export interface RbdConnection {
  readonly adaptor: 'rbd';
  readonly pool: string;
  readonly image: string;
  /** host:port of each monitor (msgr v2). */
  readonly monitors: readonly string[];
  readonly user: string;
  readonly secret: SecretRef;
}

export type ConnectionDetails = FileConnection | IscsiConnection | RbdConnection;

/** What a host needs to open one volume, and which QoS the caller must enforce in QEMU. */
export interface ConnectionInfo {
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly connection: ConnectionDetails;
  /**
   * The volume's QoS figures the backend does NOT enforce (see capabilities.backendQos): the
   * caller applies them as libvirt `<iotune>`. Null when there is nothing left to enforce.
   */
  readonly frontendQos: Qos | null;
}
