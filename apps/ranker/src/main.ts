// ranker entry point: one binary, three roles (RANKER_ROLE): the router serves
// the public Ranker API; gpu/cpu workers serve the Open Inference Protocol.
import { clientTlsFromConfig, runMain, serverOptionsFromConfig } from '@pinrank/service-kit';
import { createLogger, startTracing, tracingOptionsFromEnv } from '@pinrank/telemetry';
import { EXPERIMENTS_POLICY, INFERENCE_POLICY, RANKER_POLICY } from './authz-policy';
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

  const server = serverOptionsFromConfig(config);
  if (config.role !== 'router') {
    await startWorker({
      role: config.role,
      version,
      config: readWorkerConfig(config.role, process.env, argv),
      server: { ...server, authz: { ...server.authz, policies: [INFERENCE_POLICY] } },
      logger,
      tracer: tracing.tracer,
      reflection: { protoRoot: config.protoRoot },
      onShutdown: () => tracing.shutdown(),
    });
    return;
  }

  const { address, ...routerServer } = server;
  const tls = clientTlsFromConfig(config);
  await startRouter({
    ...routerOptionsFromEnv(process.env, argv),
    address,
    logger,
    // The router's certificate is its identity towards feature-server, embedding-store and the workers.
    ...(tls ? { clients: { tls } } : {}),
    server: {
      ...routerServer,
      authz: { ...routerServer.authz, policies: [RANKER_POLICY, EXPERIMENTS_POLICY] },
      tracer: tracing.tracer,
      reflection: { protoRoot: config.protoRoot },
    },
    onShutdown: () => tracing.shutdown(),
  });
}

runMain(main);
