import type { EventStream } from '../events/event-stream.js';
import type { LibvirtEvent } from '../events/parse-event.js';
import type { Virsh } from '../virsh/virsh.js';
import { blockList } from '../vm/domain-state.js';

/** Events after which a domain's set of disks may differ (its sources may change more often). */
const changesDisks = (e: LibvirtEvent): boolean =>
  e.kind === 'lifecycle' || (e.kind === 'other' && /^device-(added|removed|removal-failed)$/.test(e.name));

/**
 * The disk targets of each domain, which a snapshot must name (every disk it leaves out is marked
 * snapshot='no', or libvirt would give it an overlay of its own). Reading them costs one more
 * virsh process (about 40 ms) on the path of every cut, so they are kept between snapshots.
 * They are trusted only while the event stream is live; a lifecycle or device event of the
 * domain, a restart of the stream, or this agent's own change of the domain (forget) drops them.
 */
export class DiskTargets {
  private readonly known = new Map<string, Promise<string[]>>();

  constructor(
    private readonly virsh: Virsh,
    private readonly events: EventStream,
  ) {
    events.on('event', (e: LibvirtEvent) => {
      if (changesDisks(e)) this.known.delete(e.vm);
    });
    events.on('restarted', () => this.known.clear());
  }

  of(vm: string): Promise<string[]> {
    if (!this.events.live) {
      this.known.clear();
      return this.read(vm);
    }
    let targets = this.known.get(vm);
    if (!targets) {
      targets = this.read(vm);
      this.known.set(vm, targets);
      targets.catch(() => this.known.delete(vm));
    }
    return targets;
  }

  forget(vm: string): void {
    this.known.delete(vm);
  }

  private async read(vm: string): Promise<string[]> {
    return (await blockList(this.virsh, vm)).filter((d) => d.device === 'disk').map((d) => d.target);
  }
}
