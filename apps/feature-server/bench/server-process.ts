// A feature-server process for the benches: the real entry point (sources through tsx, or the
// bundle under --built), on free ports, the content vectors from the bench's catalog server.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { entryArgs } from '@pinrank/service-kit';
import { type CatalogServer } from '../src/testing/catalog-server';

/** A feature-server process started from the real entry point. */
export interface ServerProcess {
  /** The process id (for its CPU time in /proc). */
  pid: number;
  port: number;
  metricsPort: number;
  stop(): Promise<void>;
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Each process writes a V8 CPU profile there when it stops. */
  profileDir?: string;
  /** Every started process is added here, so a run can stop them all, one left running by a failure included. */
  started?: ServerProcess[];
}

/** Starts `src/main.ts` with the given variables on free ports; resolves when it logs ready. */
export function startServerProcess(catalog: CatalogServer, env: Record<string, string>, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.profileDir)}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, ...entryArgs('apps/feature-server/src/main.ts')], {
    env: {
      ...process.env,
      FEATURE_SERVER_ADDR: '127.0.0.1:0',
      FEATURE_SERVER_METRICS_ADDR: '127.0.0.1:0',
      FEATURE_SERVER_EMBEDDING_STORE_ADDR: catalog.address,
      // The catalog shares the bench process with the load generator: allow it time.
      FEATURE_SERVER_EMBEDDING_DEADLINE_MS: '15000',
      // No trace collector here: without this the OTLP exporter retries against a closed port.
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`bench: feature-server exited (${code}) before ready`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (/"level":[56]0/.test(line)) process.stderr.write(`feature-server: ${line}\n`);
      if (!line.includes('feature-server ready')) return;
      const { port, metricsPort } = JSON.parse(line) as { port: number; metricsPort: number };
      child.removeAllListeners('exit');
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      const server: ServerProcess = {
        pid: child.pid as number,
        port,
        metricsPort,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
      options.started?.push(server);
      ready(server);
    });
  });
}
