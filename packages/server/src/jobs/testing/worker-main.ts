/**
 * A management server's job side, as a process of its own, for the multi-server and crash tests:
 * `node worker-main.js <database-url> <server-id> [concurrency] [lease-ms]`. It opens the database,
 * registers the test job types and runs the engine until SIGTERM (or SIGKILL, which is the point).
 */
import { pino } from 'pino';
import { openDatabase } from '../../db/open.js';
import { createJobEngine } from '../engine.js';
import { testJobTypes } from './test-jobs.js';

const [url, serverId, concurrency = '4', leaseMs = '1500'] = process.argv.slice(2);
if (!url || !serverId) {
  process.stderr.write('usage: worker-main <database-url> <server-id> [concurrency] [lease-ms]\n');
  process.exit(2);
}
const db = await openDatabase(url);
const logger = pino({ level: 'info' });
const engine = createJobEngine({
  db,
  serverId,
  logger,
  concurrency: Number(concurrency),
  leaseMs: Number(leaseMs),
  pollMs: 50,
});
// markers the crash tests wait for
engine.onFinished((job) => process.stdout.write(`finished ${job.id} ${job.state}\n`));
for (const def of testJobTypes(db, serverId)) engine.register(def);
engine.start();
process.stdout.write(`ready ${serverId}\n`);
process.on('SIGTERM', () => {
  void engine
    .stop()
    .then(() => db.close())
    .finally(() => process.exit(0));
});
