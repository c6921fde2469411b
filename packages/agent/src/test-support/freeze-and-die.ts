// A throwaway agent process for the deadline tests: it freezes (or pauses) a guest with a
// deadline, or takes over the holds an earlier such process recorded (adopt), says so on stdout,
// then idles until the test SIGKILLs it. It opens no event stream: nothing outlives it but the
// deadline watchdogs.
// Usage: node freeze-and-die.js <vm> <deadlineMs> [freeze|pause|adopt] [holdDir]
import { HostAgent } from '../host-agent.js';

const [vm, deadline, mode = 'freeze', holdDir] = process.argv.slice(2);
if (vm === undefined || deadline === undefined)
  throw new Error('usage: freeze-and-die <vm> <deadlineMs> [freeze|pause|adopt] [holdDir]');
const agent = new HostAgent(holdDir ? { holdDir } : {});
if (mode === 'adopt') {
  const frozen = await agent.freezes.adopt();
  const paused = await agent.pauses.adopt();
  process.stdout.write(`adopted ${JSON.stringify({ frozen, paused, pauses: agent.pauses.status() })}\n`);
} else {
  const result =
    mode === 'pause' ? await agent.pause(vm, Number(deadline)) : await agent.freeze(vm, Number(deadline));
  process.stdout.write(`${mode === 'pause' ? 'paused' : 'frozen'} ${JSON.stringify(result)}\n`);
}
setInterval(() => undefined, 1_000_000);
