// Redis's own time per command, from INFO commandstats: what a shard spends
// executing the commands (socket reads and writes not included), so benches can
// set a store's scripts or commands against the plain ones they are compared
// with, as Redis CPU per action, per read or per key. And the server process's
// whole CPU time (INFO cpu), which also holds the socket reads and writes.
import type Redis from 'ioredis';

/** Calls and microseconds per command name ("evalsha", "lrange", …) since the server started or its last CONFIG RESETSTAT. */
export type CommandTimes = Map<string, { calls: number; usec: number }>;

/** The server's command stats now; empty where the server does not let this client read them (the table then shows no figures). */
export async function commandTimes(redis: Redis): Promise<CommandTimes> {
  const out: CommandTimes = new Map();
  const info = await redis.info('commandstats').catch(() => '');
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** What `commands` cost between two snapshots, summed (a script's own time includes the commands it calls). */
export function spentOn(before: CommandTimes, after: CommandTimes, commands: readonly string[]): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const c of commands) {
    const a = after.get(c);
    const b = before.get(c);
    calls += (a?.calls ?? 0) - (b?.calls ?? 0);
    usec += (a?.usec ?? 0) - (b?.usec ?? 0);
  }
  return { calls, usec };
}

/** Scripts as ioredis sends them (EVALSHA, EVAL after a NOSCRIPT). */
export const SCRIPT_COMMANDS = ['evalsha', 'eval'] as const;

/**
 * The Redis server process's CPU time so far, user + system, in microseconds
 * (INFO cpu: command execution, protocol parsing, socket reads and writes,
 * its timers); NaN where the server does not let this client read it.
 */
export async function serverCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu').catch(() => '');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)\\s*$`, 'm').exec(info);
    return m ? Number(m[1]) : Number.NaN;
  };
  // INFO prints seconds with six decimals: rounding to whole microseconds drops the float error.
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

/**
 * Each server's CPU while nothing calls it (its timers), in µs per ms of wall
 * time, measured over `ms`: the rate a bench takes out of the CPU a measured
 * phase used, times the phase's length.
 */
export async function idleCpuRates(servers: readonly Redis[], ms: number): Promise<number[]> {
  const from = await Promise.all(servers.map((r) => serverCpuMicros(r)));
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const to = await Promise.all(servers.map((r) => serverCpuMicros(r)));
  const elapsed = performance.now() - start;
  return to.map((c, i) => (c - (from[i] as number)) / elapsed);
}

/**
 * The CPU Redis servers spend on a measured phase: each server's CPU time across it (INFO
 * cpu), less what it spends idle over the phase's length (its idle rate, measured once
 * when this is made). What the benches report as server CPU per read, per action or per lookup.
 */
export class BusyCpu {
  private constructor(
    private readonly servers: readonly Redis[],
    /** Each server's idle rate, µs per ms. */
    readonly idlePerMs: readonly number[],
  ) {}

  /** Measures the servers' idle rates over `idleMs` (nothing else should call them meanwhile). */
  static async measure(servers: readonly Redis[], idleMs: number): Promise<BusyCpu> {
    return new BusyCpu(servers, await idleCpuRates(servers, idleMs));
  }

  /** Runs `phase`; returns each server's busy CPU in µs during it (NaN where INFO is refused) and the phase's length in ms. */
  async during(phase: () => Promise<unknown>): Promise<{ micros: number[]; ms: number }> {
    const read = (): Promise<number[]> => Promise.all(this.servers.map((r) => serverCpuMicros(r)));
    const before = await read();
    const start = performance.now();
    await phase();
    const ms = performance.now() - start;
    const after = await read();
    return { micros: after.map((c, i) => c - (before[i] as number) - (this.idlePerMs[i] as number) * ms), ms };
  }
}
