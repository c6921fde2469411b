import type { StorageContext } from '@strata/core';
import { exec } from './exec.js';

/** One target as tgtd reports it: the source of truth for tids, LUNs, ACLs and accounts. */
export interface TargetState {
  readonly tid: number;
  readonly iqn: string;
  readonly luns: ReadonlyMap<number, string>;
  readonly acls: readonly string[];
  readonly accounts: readonly string[];
  /** Initiators with a session open now. */
  readonly sessions: readonly string[];
  /** The same sessions with their ids (I_T nexus = session id) and connection ids, to close them. */
  readonly nexuses: readonly Nexus[];
}

export interface Nexus {
  readonly sid: number;
  readonly initiator: string;
  readonly connections: readonly number[];
}

/** Parses `tgtadm --op show --mode target`. */
export function parseTargets(text: string): TargetState[] {
  const out: {
    tid: number;
    iqn: string;
    luns: Map<number, string>;
    acls: string[];
    accounts: string[];
    sessions: string[];
    nexuses: Array<{ sid: number; initiator: string; connections: number[] }>;
  }[] = [];
  let section = '';
  let lun = -1;
  for (const raw of text.split('\n')) {
    const target = /^Target (\d+): (\S+)/.exec(raw);
    if (target) {
      out.push({
        tid: Number(target[1]),
        iqn: target[2] ?? '',
        luns: new Map(),
        acls: [],
        accounts: [],
        sessions: [],
        nexuses: [],
      });
      section = '';
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    const line = raw.trim();
    if (/^ {4}\S/.test(raw)) {
      section = line;
      continue;
    }
    if (section === 'LUN information:') {
      const l = /^LUN: (\d+)/.exec(line);
      if (l) lun = Number(l[1]);
      const b = /^Backing store path: (.*)$/.exec(line);
      if (b && lun > 0) cur.luns.set(lun, b[1] ?? '');
    } else if (section === 'ACL information:' && line) cur.acls.push(line);
    else if (section === 'Account information:' && line) cur.accounts.push(line);
    else if (section === 'I_T nexus information:') {
      const n = /^I_T nexus: (\d+)/.exec(line);
      if (n) cur.nexuses.push({ sid: Number(n[1]), initiator: '', connections: [] });
      const nexus = cur.nexuses[cur.nexuses.length - 1];
      const i = /^Initiator: (\S+)/.exec(line);
      if (i?.[1]) {
        cur.sessions.push(i[1]);
        if (nexus) nexus.initiator = i[1];
      }
      const c = /^Connection: (\d+)/.exec(line);
      if (c && nexus) nexus.connections.push(Number(c[1]));
    }
  }
  return out;
}

/** Thin typed wrappers over tgtadm; each is one command with an argument array. */
export class Tgtadm {
  constructor(
    private readonly bin = 'tgtadm',
    /** tgtd's management port (`tgtd -C N`): several tgtd instances can run on one machine. */
    private readonly controlPort?: number,
  ) {}

  #run(ctx: StorageContext, op: string, args: readonly string[]): Promise<string> {
    const port = this.controlPort !== undefined ? ['-C', String(this.controlPort)] : [];
    return exec(ctx, this.bin, [...port, '--lld', 'iscsi', ...args], `tgtadm ${op}`);
  }

  async targets(ctx: StorageContext): Promise<TargetState[]> {
    return parseTargets(await this.#run(ctx, 'show', ['--op', 'show', '--mode', 'target']));
  }

  async accounts(ctx: StorageContext): Promise<string[]> {
    const text = await this.#run(ctx, 'show account', ['--op', 'show', '--mode', 'account']);
    return text
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
  }

  newTarget(ctx: StorageContext, tid: number, iqn: string): Promise<string> {
    return this.#run(ctx, 'new target', [
      '--op',
      'new',
      '--mode',
      'target',
      '--tid',
      String(tid),
      '--targetname',
      iqn,
    ]);
  }

  deleteTarget(ctx: StorageContext, tid: number): Promise<string> {
    return this.#run(ctx, 'delete target', ['--op', 'delete', '--mode', 'target', '--tid', String(tid)]);
  }

  newLun(ctx: StorageContext, tid: number, lun: number, path: string): Promise<string> {
    return this.#run(ctx, 'new lun', [
      '--op',
      'new',
      '--mode',
      'logicalunit',
      '--tid',
      String(tid),
      '--lun',
      String(lun),
      '--backing-store',
      path,
      '--bstype',
      'rdwr',
      '--device-type',
      'disk',
    ]);
  }

  deleteLun(ctx: StorageContext, tid: number, lun: number): Promise<string> {
    return this.#run(ctx, 'delete lun', [
      '--op',
      'delete',
      '--mode',
      'logicalunit',
      '--tid',
      String(tid),
      '--lun',
      String(lun),
    ]);
  }

  /** ACL on the initiator NAME (`--initiator-name`); `--initiator-address` would be an IP ACL. */
  bindInitiator(ctx: StorageContext, tid: number, initiator: string): Promise<string> {
    return this.#run(ctx, 'bind', [
      '--op',
      'bind',
      '--mode',
      'target',
      '--tid',
      String(tid),
      '--initiator-name',
      initiator,
    ]);
  }

  unbindInitiator(ctx: StorageContext, tid: number, initiator: string): Promise<string> {
    return this.#run(ctx, 'unbind', [
      '--op',
      'unbind',
      '--mode',
      'target',
      '--tid',
      String(tid),
      '--initiator-name',
      initiator,
    ]);
  }

  /** Closes one iSCSI connection (a fenced host's): its initiator must log in again, past the ACLs. */
  deleteConnection(ctx: StorageContext, tid: number, sid: number, cid: number): Promise<string> {
    return this.#run(ctx, 'delete conn', [
      '--op',
      'delete',
      '--mode',
      'conn',
      '--tid',
      String(tid),
      '--sid',
      String(sid),
      '--cid',
      String(cid),
    ]);
  }

  /**
   * tgtadm takes the password only on its command line, where local users can read it while it
   * runs: the exposure and its mitigations are in docs/spec/storage-driver.md section 4.
   */
  newAccount(ctx: StorageContext, user: string, password: string): Promise<string> {
    return this.#run(ctx, 'new account', [
      '--op',
      'new',
      '--mode',
      'account',
      '--user',
      user,
      '--password',
      password,
    ]);
  }

  deleteAccount(ctx: StorageContext, user: string): Promise<string> {
    return this.#run(ctx, 'delete account', ['--op', 'delete', '--mode', 'account', '--user', user]);
  }

  bindAccount(ctx: StorageContext, tid: number, user: string): Promise<string> {
    return this.#run(ctx, 'bind account', [
      '--op',
      'bind',
      '--mode',
      'account',
      '--tid',
      String(tid),
      '--user',
      user,
    ]);
  }
}
