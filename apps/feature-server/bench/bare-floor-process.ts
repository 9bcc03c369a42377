// The bare floor's server in a process of its own (feature-server-bench.ts starts it):
// reads the prebuilt answer (an encoded RealtimeSequence) from the file named by its
// first argument, prints `port=<n>` once it listens, and stops on SIGTERM.
import { readFileSync } from 'node:fs';
import { RealtimeSequence } from '@pinrank/proto';
import { startBareServer } from './bare-floor';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bare-floor-process.ts <answer file>');
  const server = await startBareServer(RealtimeSequence.decode(readFileSync(file)));
  process.once('SIGTERM', () => {
    server.stop();
    process.exit(0);
  });
  process.stdout.write(`port=${server.port}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
