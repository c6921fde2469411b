// Starts bench/load/server-process.mjs as a child and talks to it over its stdin and stdout.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';

export function startServerProcess(databaseUrl, dataDir) {
  const proc = spawn(
    process.execPath,
    [new URL('./server-process.mjs', import.meta.url).pathname, databaseUrl, dataDir],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const queue = [];
  const waiting = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    if (!line.startsWith('{"url"') && !line.startsWith('{"raw')) return; // server logs
    const w = waiting.shift();
    if (w) w(JSON.parse(line));
    else queue.push(JSON.parse(line));
  });
  const next = () =>
    new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve)));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    next,
    send: (cmd) => proc.stdin.write(cmd + '\n'),
    async stop() {
      proc.stdin.write('quit\n');
      // a close that waits on idle client sockets is not what is measured: 15 s, then the signal
      const timer = setTimeout(() => proc.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
