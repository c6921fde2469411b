import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ensureLibvirt } from '@strata/testing';

/** A live process, not a zombie waiting for its (dead) parent's reaper. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

// A process holding the agent's event stream, killed outright (SIGKILL: no handler runs), must not
// leave its `virsh event --loop` behind: on a quiet host it never writes, so it would never see
// its broken pipe and would live on for good, one more after each agent crash.
test('the event stream of a SIGKILLed agent process ends with it', { timeout: 120_000 }, async () => {
  await ensureLibvirt();
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { EventStream } from '@strata/agent';
       const s = new EventStream();
       await s.start();
       process.stdout.write(String(s.pid) + '\\n');
       setInterval(() => undefined, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('.', import.meta.url).pathname },
  );
  const pid = await new Promise<number>((resolve, reject) => {
    holder.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    holder.once('exit', (code) =>
      reject(new Error(`the holder exited (${code}) before starting its stream`)),
    );
  });
  assert.ok(pid > 0 && alive(pid), 'the stream runs while its agent does');
  holder.kill('SIGKILL');
  const end = Date.now() + 10_000;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(pid), false, `virsh event (pid ${pid}) outlived its agent`);
});
