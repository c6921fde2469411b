import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function guestSeconds(domain: string, uri: string): Promise<number> {
  const { stdout } = await run('virsh', ['-c', uri, 'domtime', domain], { timeout: 10_000 });
  const m = /Time:\s*(\d+)/.exec(stdout);
  if (!m) throw new Error(`virsh domtime ${domain} answered ${JSON.stringify(stdout)}`);
  return Number(m[1]);
}

/**
 * How far the guest's clock (which stamps the writer's records) is ahead of the host's, in µs.
 * libvirt's guest time (through the guest agent, no taint) has whole seconds only: asked in a loop
 * until the second turns over, the turn lies between two answers, which bounds the offset to the
 * time of one call. Returns the offset and that bound. `uri`: the libvirtd that runs the domain.
 */
export async function guestClockOffsetUs(
  domain: string,
  uri = 'qemu:///system',
): Promise<{ offsetUs: number; errorUs: number }> {
  let prev = await guestSeconds(domain, uri);
  let prevAt = Date.now() * 1000;
  for (let i = 0; i < 200; i++) {
    const s = await guestSeconds(domain, uri);
    const at = Date.now() * 1000;
    if (s !== prev) {
      // the guest's clock read s * 1e6 somewhere in (prevAt, at]
      const mid = (prevAt + at) / 2;
      return { offsetUs: s * 1_000_000 - mid, errorUs: at - prevAt };
    }
    prev = s;
    prevAt = at;
  }
  throw new Error(`the guest clock of ${domain} did not turn over a second in 200 reads`);
}
