import { type ChildProcess } from 'node:child_process';
import { portAnswers } from './free-ports';

/** A server process that serves one port: started, waited for, and killed as a crash would. */
export interface PortProcess {
  /** Spawns it (unless running) and resolves once the port answers; rejects with the tail of its output when it exits first or the port does not answer within 15 s. */
  start(): Promise<void>;
  /** SIGKILLs it and waits for its exit; `start` may bring it back on the same port. */
  kill(): Promise<void>;
  /** The running process's id; undefined when it is not running. */
  readonly pid: number | undefined;
}

/**
 * A server process (a throwaway nats-server, redis-server, … of a test or bench) on 127.0.0.1:`port`.
 * `spawnIt` starts one, with stdout and stderr piped; `what` names it in errors, and `hint` says
 * how to get it when it cannot be run at all.
 */
export function portProcess(what: string, port: number, spawnIt: () => ChildProcess, hint = ''): PortProcess {
  let proc: ChildProcess | undefined;
  return {
    async start(): Promise<void> {
      if (proc) return;
      const p = spawnIt();
      proc = p;
      let log = '';
      let spawnError: Error | undefined;
      p.once('error', (err) => (spawnError = new Error(`${what}: cannot run it: ${err.message}${hint ? ` (${hint})` : ''}`)));
      const keep = (b: Buffer): void => void (log = (log + b.toString()).slice(-4000));
      p.stdout?.on('data', keep);
      p.stderr?.on('data', keep);
      // 'close' comes once the output is read to its end, which may be after the exit.
      const closed = new Promise((resolve) => p.once('close', resolve));
      const end = Date.now() + 15_000;
      for (;;) {
        if (spawnError) throw spawnError;
        if (p.exitCode !== null) {
          await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
          throw new Error(`${what}: exited (${p.exitCode}): ${log.slice(-1000)}`);
        }
        if (await portAnswers(port)) return;
        if (Date.now() > end) throw new Error(`${what}: not accepting connections on ${port} after 15 s: ${log.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(): Promise<void> {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      });
    },
    get pid(): number | undefined {
      return proc?.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
  };
}
