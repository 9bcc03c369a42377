import { describeExit, type ExitStatus } from './managed-process';
import { RestartPolicy } from './restart-policy';

/** The little the supervisor needs of a running service process (ManagedProcess in the stack). */
export interface ServiceProcess {
  /** Resolves once the service answers SERVING; rejects when it exits first or `timeoutMs` passes. */
  waitServing(timeoutMs: number): Promise<void>;
  /** Asks the process to drain and exit (SIGTERM), killing it after `graceMs`. */
  stop(graceMs: number): Promise<unknown>;
  /** Resolves when the process ends, however it ends. */
  readonly exit: Promise<ExitStatus>;
  /** The process id, for logs and operators. */
  readonly pid: number | undefined;
}

/** What the supervisor reports; `start` prints them. */
export type SupervisorEvent =
  | { kind: 'exited'; name: string; status: ExitStatus; restartInMs: number; restart: number }
  | { kind: 'restarted'; name: string; restart: number; pid: number | undefined }
  | { kind: 'restart-failed'; name: string; restart: number; error: Error }
  | { kind: 'gave-up'; name: string; status: ExitStatus; reason: string };

/** One line for a supervisor event, as `pinrank start` logs it. */
export function describeEvent(e: SupervisorEvent): string {
  switch (e.kind) {
    case 'exited':
      return `${e.name} exited unexpectedly (${describeExit(e.status)}); restart ${e.restart} in ${e.restartInMs} ms`;
    case 'restarted':
      return `${e.name} is SERVING again (restart ${e.restart}, pid ${e.pid ?? 'unknown'})`;
    case 'restart-failed':
      return `${e.name} restart ${e.restart} did not come up: ${e.error.message}`;
    case 'gave-up':
      return `${e.name} ${e.reason} (last exit: ${describeExit(e.status)}); it is crash-looping, so the stack stops. Fix the cause shown in its log lines above, then start again`;
  }
}

/** Options of {@link SupervisedService}. */
export interface SupervisedServiceOptions {
  /** Starts a fresh process of the service. */
  launch: () => ServiceProcess;
  /** When to restart; default a {@link RestartPolicy} with its defaults. */
  policy?: RestartPolicy;
  /** Longest wait for SERVING after each start; default 180 000 ms. */
  startTimeoutMs?: number;
  /** Grace period of a stop before SIGKILL; default 20 000 ms. */
  stopGraceMs?: number;
  onEvent?: (e: SupervisorEvent) => void;
}

/**
 * Keeps one service of the local stack running: restarts its process when it
 * exits unexpectedly (with the policy's backoff), and gives up — resolving
 * {@link gaveUp} — when it crash-loops. A process that comes up but never
 * reports SERVING is stopped, which counts as an exit.
 */
export class SupervisedService {
  /** Restarts so far. */
  restarts = 0;
  /** Resolves with a message when the service crash-loops and is no longer restarted. */
  readonly gaveUp: Promise<string>;
  private current: ServiceProcess | undefined;
  private stopping = false;
  private pendingRestart: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private giveUp: (message: string) => void = () => undefined;
  private readonly policy: RestartPolicy;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;

  constructor(
    readonly name: string,
    private readonly o: SupervisedServiceOptions,
  ) {
    this.policy = o.policy ?? new RestartPolicy();
    this.startTimeoutMs = o.startTimeoutMs ?? 180_000;
    this.stopGraceMs = o.stopGraceMs ?? 20_000;
    this.gaveUp = new Promise((resolve) => (this.giveUp = resolve));
  }

  /** Starts the first process and waits for SERVING. Thrown by: it exits or hangs during start-up (no restart: a first start that fails is a set-up problem). */
  async start(): Promise<void> {
    const p = this.o.launch();
    this.current = p;
    await p.waitServing(this.startTimeoutMs);
    this.follow(p);
  }

  /** The current process id. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Stops restarting and stops the current process (draining it). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pendingRestart) {
      clearTimeout(this.pendingRestart.timer);
      this.pendingRestart.resolve();
      this.pendingRestart = undefined;
    }
    await this.current?.stop(this.stopGraceMs);
  }

  private follow(p: ServiceProcess): void {
    void p.exit.then((status) => this.onExit(p, status));
  }

  private async onExit(p: ServiceProcess, status: ExitStatus): Promise<void> {
    if (this.stopping || p !== this.current) return;
    const decision = this.policy.onExit();
    if (decision.action === 'give-up') {
      this.emit({ kind: 'gave-up', name: this.name, status, reason: decision.reason });
      this.giveUp(describeEvent({ kind: 'gave-up', name: this.name, status, reason: decision.reason }));
      return;
    }
    const restart = this.restarts + 1;
    this.emit({ kind: 'exited', name: this.name, status, restartInMs: decision.delayMs, restart });
    await new Promise<void>((resolve) => {
      this.pendingRestart = { timer: setTimeout(resolve, decision.delayMs), resolve };
    });
    this.pendingRestart = undefined;
    if (this.stopping) return;
    this.restarts = restart;
    const next = this.o.launch();
    this.current = next;
    this.follow(next);
    try {
      await next.waitServing(this.startTimeoutMs);
      if (!this.stopping && this.current === next) this.emit({ kind: 'restarted', name: this.name, restart, pid: next.pid });
    } catch (err) {
      if (this.stopping || this.current !== next) return;
      this.emit({ kind: 'restart-failed', name: this.name, restart, error: err as Error });
      // A process that is up but never SERVING is as good as dead: stopping it counts as an exit (and may restart it).
      await next.stop(this.stopGraceMs);
    }
  }

  private emit(e: SupervisorEvent): void {
    this.o.onEvent?.(e);
  }
}
