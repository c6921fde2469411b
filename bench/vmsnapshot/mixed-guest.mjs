// The two writers bench/vmsnapshot's mixed VM runs in its guest, as the issue that set the targets
// describes them: a filesystem writer (a 4 KiB `dd conv=fsync` into a file on the ROOT disk's ext4,
// about every 13 ms) and a writer of records straight to the raw data disks (512 bytes each,
// synced, round-robin). Each logs the guest's clock after every acknowledged write into /run (guest
// RAM), so a stall is the longest gap between two acknowledgements, as the guest saw it.
import { guestExec } from '@strata/testing';

const CLOCK =
  'now() { adjtimex > /run/$1.adj; while read k v r; do case "$k" in time.tv_sec:) s=$v ;; time.tv_usec:) u=$v ;; esac; done < /run/$1.adj; echo $((s*1000000+u)); }';
/** Where the raw writer writes on each data disk: its last MiB, clear of the init writer's ring. */
const RAW_TAIL_SECTORS = 2048;

async function exec(domain, script, timeoutMs = 60_000) {
  const r = await guestExec(domain, script, timeoutMs);
  if (r.exitCode !== 0) throw new Error(`guest: ${script.slice(0, 120)}: exit ${r.exitCode}: ${r.stderr}`);
  return r;
}

/** Starts both writers in the background; `fsDir`: the ROOT disk's mount, `rawDisks`: vdX names. */
export async function startWriters(domain, fsDir, rawDisks) {
  const fs = `${CLOCK}; : > /run/fs.log; while :; do dd if=/dev/zero of=${fsDir}/bench-fs bs=4k count=1 conv=fsync 2>/dev/null && now fs >> /run/fs.log; usleep 13000; done`;
  const seeks = rawDisks.map((d) => `$(( $(cat /sys/block/${d}/size) - ${RAW_TAIL_SECTORS} ))`);
  const raw = `${CLOCK}; : > /run/raw.log; i=0; while :; do ${rawDisks
    .map(
      (d, k) =>
        `dd if=/run/raw.rec of=/dev/${d} bs=512 seek=$((${seeks[k]} + i)) count=1 conv=notrunc,fsync 2>/dev/null && now raw >> /run/raw.log`,
    )
    .join('; ')}; i=$(( (i + 1) % ${RAW_TAIL_SECTORS} )); done`;
  await exec(domain, `printf '%-511s\\n' raw > /run/raw.rec`);
  for (const [name, loop] of [
    ['fs', fs],
    ['raw', raw],
  ])
    await exec(domain, `setsid sh -c '${loop}' > /dev/null 2>&1 < /dev/null & echo $! > /run/${name}.pid`);
  // a writer that did not start would read as no stall at all
  await exec(domain, 'sleep 2; [ -s /run/fs.log ] && [ -s /run/raw.log ]');
}

export async function stopWriters(domain) {
  await exec(domain, 'kill $(cat /run/fs.pid) $(cat /run/raw.pid) 2>/dev/null; true');
}

/** The last 3,000 acknowledgements of one writer (guest clock, µs). */
export async function acks(domain, name) {
  const out = (await exec(domain, `tail -n 3000 /run/${name}.log`)).stdout;
  return out
    .split('\n')
    .map(Number)
    .filter((x) => x > 0);
}

/** The longest gap between acknowledgements that overlaps [fromUs, toUs] (guest clock), in ms. */
export function longestGapMs(times, fromUs, toUs) {
  let longest = 0;
  for (let i = 1; i < times.length; i++)
    if (times[i] >= fromUs && times[i - 1] <= toUs)
      longest = Math.max(longest, (times[i] - times[i - 1]) / 1000);
  return longest;
}
