// A throwaway agent process for the auto-thaw test: it freezes a guest with a deadline, says so
// on stdout, then idles until the test SIGKILLs it. Usage: node freeze-and-die.js <vm> <deadlineMs>
import { HostAgent } from '../host-agent.js';

const [vm, deadline] = process.argv.slice(2);
if (vm === undefined || deadline === undefined) throw new Error('usage: freeze-and-die <vm> <deadlineMs>');
const agent = new HostAgent();
const result = await agent.freeze(vm, Number(deadline));
process.stdout.write(`frozen ${JSON.stringify(result)}\n`);
setInterval(() => undefined, 1_000_000);
