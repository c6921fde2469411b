// A throwaway agent process for the deadline tests: it freezes (or pauses) a guest with a
// deadline, says so on stdout, then idles until the test SIGKILLs it.
// Usage: node freeze-and-die.js <vm> <deadlineMs> [freeze|pause]
import { HostAgent } from '../host-agent.js';

const [vm, deadline, mode = 'freeze'] = process.argv.slice(2);
if (vm === undefined || deadline === undefined)
  throw new Error('usage: freeze-and-die <vm> <deadlineMs> [freeze|pause]');
const agent = new HostAgent();
const result =
  mode === 'pause' ? await agent.pause(vm, Number(deadline)) : await agent.freeze(vm, Number(deadline));
process.stdout.write(`${mode === 'pause' ? 'paused' : 'frozen'} ${JSON.stringify(result)}\n`);
setInterval(() => undefined, 1_000_000);
