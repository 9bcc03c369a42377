// Starts one router from RANKER_* variables (as the app's router role does); used by the benchmarks.
import { pino } from 'pino';
import { routerOptionsFromEnv, startRouter } from '../src/router';

async function main(): Promise<void> {
  const options = routerOptionsFromEnv(process.env);
  await startRouter({ ...options, address: process.env['RANKER_ADDR'] ?? '127.0.0.1:50050', logger: pino({ level: 'warn' }) });
}

main().catch((err: unknown) => {
  process.stderr.write(`router failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
