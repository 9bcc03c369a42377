import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type ExitStatus } from './managed-process';
import { RestartPolicy } from './restart-policy';
import { describeEvent, SupervisedService, type ServiceProcess, type SupervisorEvent } from './supervised-service';

/** A real child process standing in for a service: "serving" once spawned; `script` decides how long it lives. */
function childProcess(script: string, pids: number[]): ServiceProcess {
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exit = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    exit,
    pid: child.pid,
    waitServing: async () => {
      await once(child, 'spawn');
      if (child.pid !== undefined) pids.push(child.pid);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

function nextEvent(events: SupervisorEvent[], kind: SupervisorEvent['kind']): Promise<SupervisorEvent> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const e = events.find((x) => x.kind === kind);
      if (e) {
        clearInterval(poll);
        resolve(e);
      }
    }, 10);
  });
}

describe('SupervisedService', () => {
  it('restarts a service killed with SIGKILL and reports the signal and the restart', async () => {
    const pids: number[] = [];
    const events: SupervisorEvent[] = [];
    const s = new SupervisedService('gpu-worker', {
      launch: () => childProcess('setInterval(() => {}, 1e6)', pids),
      policy: new RestartPolicy({ initialDelayMs: 10 }),
      onEvent: (e) => events.push(e),
    });
    await s.start();
    try {
      expect(pids).toHaveLength(1);
      process.kill(pids[0] as number, 'SIGKILL');
      const exited = await nextEvent(events, 'exited');
      expect(describeEvent(exited)).toBe('gpu-worker exited unexpectedly (signal SIGKILL); restart 1 in 10 ms');
      await nextEvent(events, 'restarted');
      expect(pids).toHaveLength(2);
      expect(pids[1]).not.toBe(pids[0]);
      expect(s.restarts).toBe(1);
    } finally {
      await s.stop();
    }
  });

  it('gives up on a crash loop and says so', async () => {
    const pids: number[] = [];
    const events: SupervisorEvent[] = [];
    const s = new SupervisedService('feature-server', {
      launch: () => childProcess('setTimeout(() => process.exit(3), 20)', pids),
      policy: new RestartPolicy({ initialDelayMs: 0, maxRestarts: 2, windowMs: 60_000 }),
      onEvent: (e) => events.push(e),
    });
    await s.start();
    const message = await s.gaveUp;
    await s.stop();
    expect(message).toMatch(/^feature-server exited 3 times within 60 s \(last exit: code 3\); it is crash-looping, so the stack stops/);
    expect(events.filter((e) => e.kind === 'exited')).toHaveLength(2);
    expect(pids).toHaveLength(3);
  });

  it('does not restart what it was asked to stop', async () => {
    const pids: number[] = [];
    const events: SupervisorEvent[] = [];
    const s = new SupervisedService('router', { launch: () => childProcess('setInterval(() => {}, 1e6)', pids), onEvent: (e) => events.push(e) });
    await s.start();
    await s.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    expect(pids).toHaveLength(1);
  });
});
