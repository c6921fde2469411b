import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The guest's own word on its filesystems ('frozen' or 'thawed'), asked of its agent through libvirt. */
export async function fsfreezeStatus(vm: string): Promise<string> {
  const { stdout } = await run('virsh', [
    '-c',
    'qemu:///system',
    'qemu-agent-command',
    vm,
    '{"execute":"guest-fsfreeze-status"}',
  ]);
  return (JSON.parse(stdout) as { return: string }).return;
}
