/** Events an agent streams to the server, by type. Payloads are JSON. */
export interface AgentEventMap {
  /** A libvirt lifecycle event (virsh event --all --loop: `lifecycle`). */
  'vm.lifecycle': { readonly vm: string; readonly event: string; readonly detail: string };
  /** A libvirt block-job event: progress ends in completed, failed, canceled or ready (mirror ready to pivot). */
  'block.job': {
    readonly vm: string;
    readonly disk: string;
    readonly jobType: string;
    readonly status: 'completed' | 'failed' | 'canceled' | 'ready' | 'unknown';
  };
  /** A guest was thawed; `deadline` when the agent thawed it on its own. */
  'guest.thawed': {
    readonly vm: string;
    readonly reason: 'requested' | 'deadline';
    readonly frozenForMs: number;
  };
  /** A paused VM was resumed; `deadline` when the agent resumed it on its own. */
  'vm.resumed': {
    readonly vm: string;
    readonly reason: 'requested' | 'deadline';
    readonly pausedForMs: number;
  };
  /** The guest agent inside a VM connected or disconnected (libvirt `agent-lifecycle`). */
  'guest.agent': { readonly vm: string; readonly state: string; readonly reason: string };
  /** Any other libvirt domain event, forwarded as libvirt named it. */
  'libvirt.other': { readonly vm: string; readonly name: string; readonly detail: string };
}

export type AgentEventType = keyof AgentEventMap;
