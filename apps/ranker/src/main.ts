// ranker entry point: one binary, three roles (RANKER_ROLE): the router serves
// the public Ranker API; gpu/cpu workers serve the Open Inference Protocol.
import { RankerService } from '@pinrank/proto';
import { defineService, runMain, serverOptionsFromConfig, startServer, type ServiceRegistration } from '@pinrank/service-kit';
import { createLogger, startTracing, tracingOptionsFromEnv } from '@pinrank/telemetry';
import { readRankerConfig } from './config';
import { readWorkerConfig, startWorker } from './worker';

function routerServices(): ServiceRegistration[] {
  return [
    defineService(RankerService, {}, {
      unimplementedMessage: (path) => `${path.slice(1)} is not implemented yet (arrives with the ranker router)`,
    }),
  ];
}

/** `--role X` is the short form of `--ranker-role X`. */
function normalizeArgv(argv: readonly string[]): string[] {
  return argv.map((a) => (a === '--role' ? '--ranker-role' : a.startsWith('--role=') ? `--ranker-role=${a.slice(7)}` : a));
}

async function main(): Promise<void> {
  const argv = normalizeArgv(process.argv.slice(2));
  const config = readRankerConfig(process.env, argv);
  const name = config.role === 'router' ? 'ranker-router' : `ranker-worker-${config.role}`;
  const tracing = startTracing(tracingOptionsFromEnv(process.env, name));
  const logger = createLogger({ name, level: config.logLevel });

  if (config.role !== 'router') {
    await startWorker({
      role: config.role,
      config: readWorkerConfig(config.role, process.env, argv),
      server: serverOptionsFromConfig(config),
      logger,
      tracer: tracing.tracer,
      reflection: { protoRoot: config.protoRoot },
      onShutdown: () => tracing.shutdown(),
    });
    return;
  }

  await startServer({
    name,
    services: routerServices(),
    ...serverOptionsFromConfig(config),
    reflection: { protoRoot: config.protoRoot },
    logger,
    tracer: tracing.tracer,
    onShutdown: () => tracing.shutdown(),
  });
}

runMain(main);
