import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Metadata } from '@grpc/grpc-js';
import { HealthCheckRequest, HealthCheckResponse_ServingStatus, HealthClient } from '@pinrank/proto';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { openClient } from '../remote/call';

/** One service process of the local stack. */
export interface ServiceSpec {
  /** Label used in logs and the endpoint table. */
  name: string;
  /** App folder under apps/. */
  app: 'feature-server' | 'embedding-store' | 'ranker';
  /** Extra command-line arguments. */
  args: string[];
  /** Environment on top of the parent's. */
  env: Record<string, string>;
  /** gRPC address to health-check (host:port). */
  address: string;
  /** /metrics address. */
  metricsAddress: string;
  /** Run the app's sources through tsx even when a bundle exists (default false). */
  fromSource?: boolean;
  /** TLS of the health checks (the service runs mutual TLS); default plaintext. */
  healthTls?: ClientTlsOptions;
}

/** The command that runs an app: its bundle when built, otherwise its sources through tsx. */
export function appCommand(root: string, app: ServiceSpec['app'], fromSource = false): { cmd: string; args: string[] } {
  const bundle = join(root, 'dist', 'apps', app, 'main.js');
  if (!fromSource && existsSync(bundle)) return { cmd: process.execPath, args: [bundle] };
  return { cmd: process.execPath, args: ['--import', 'tsx', join(root, 'apps', app, 'src', 'main.ts')] };
}

/** How a process ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "code 1" or "signal SIGKILL", for logs. */
export function describeExit(s: ExitStatus): string {
  return s.signal ? `signal ${s.signal}` : `code ${s.code ?? 'unknown'}`;
}

/** A running service: its child process, log forwarding and health polling. */
export class ManagedProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<ExitStatus>;

  constructor(
    readonly spec: ServiceSpec,
    root: string,
    onLog: (name: string, line: string) => void,
  ) {
    const { cmd, args } = appCommand(root, spec.app, spec.fromSource);
    this.child = spawn(cmd, [...args, ...spec.args], {
      cwd: root,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => onLog(spec.name, line));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the server answers SERVING on grpc.health.v1; rejects if it exits or `timeoutMs` passes. */
  async waitServing(timeoutMs: number): Promise<void> {
    const client = openClient(HealthClient, this.spec.address, this.spec.healthTls);
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    try {
      while (Date.now() < until) {
        if (exited) throw new Error(`${this.spec.name} exited during start-up (see its log lines above)`);
        const status = await new Promise<HealthCheckResponse_ServingStatus | undefined>((resolve) =>
          client.check(HealthCheckRequest.fromPartial({ service: '' }), new Metadata(), { deadline: new Date(Date.now() + 1000) }, (err, res) =>
            resolve(err ? undefined : res.status),
          ),
        );
        if (status === HealthCheckResponse_ServingStatus.SERVING) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${this.spec.name} did not report SERVING at ${this.spec.address} within ${timeoutMs} ms`);
    } finally {
      client.close();
    }
  }

  /** Sends SIGTERM (the service drains) and waits; SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return (await this.exited).code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the exit code when the process ends. */
  get done(): Promise<number | null> {
    return this.exited.then((s) => s.code);
  }

  /** Resolves with the exit code or signal when the process ends. */
  get exit(): Promise<ExitStatus> {
    return this.exited;
  }

  /** The child's process id (undefined if it failed to spawn). */
  get pid(): number | undefined {
    return this.child.pid;
  }
}
