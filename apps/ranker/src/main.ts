// ranker entry point: one binary, three roles (RANKER_ROLE): the router serves
// the public Ranker API; gpu/cpu workers serve the Open Inference Protocol.
import { runMain, serverOptionsFromConfig } from '@pinrank/service-kit';
import { createLogger, startTracing, tracingOptionsFromEnv } from '@pinrank/telemetry';
import { readRankerConfig } from './config';
import { routerOptionsFromEnv, startRouter } from './router';
import { readWorkerConfig, startWorker } from './worker';
import { version } from '../package.json';

/** `--role X` is the short form of `--ranker-role X`. */
function normalizeArgv(argv: readonly string[]): string[] {
  return argv.map((a) => (a === '--role' ? '--ranker-role' : a.startsWith('--role=') ? `--ranker-role=${a.slice(7)}` : a));
}

async function main(): Promise<void> {
  const argv = normalizeArgv(process.argv.slice(2));
  const config = readRankerConfig(process.env, argv);
  const name = config.role === 'router' ? 'ranker-router' : `ranker-worker-${config.role}`;
  const tracing = startTracing(tracingOptionsFromEnv(process.env, name, version));
  const logger = createLogger({ name, level: config.logLevel });

  if (config.role !== 'router') {
    await startWorker({
      role: config.role,
      version,
      config: readWorkerConfig(config.role, process.env, argv),
      server: serverOptionsFromConfig(config),
      logger,
      tracer: tracing.tracer,
      reflection: { protoRoot: config.protoRoot },
      onShutdown: () => tracing.shutdown(),
    });
    return;
  }

  const { address, ...server } = serverOptionsFromConfig(config);
  await startRouter({
    ...routerOptionsFromEnv(process.env, argv),
    address,
    logger,
    server: { ...server, tracer: tracing.tracer, reflection: { protoRoot: config.protoRoot } },
    onShutdown: () => tracing.shutdown(),
  });
}

runMain(main);
