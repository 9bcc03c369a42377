// CPU time of other processes on this machine (Linux /proc), for benches that set a server's
// CPU against the work it did: user + system time of a process, and the pid of a process
// found by its command name.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** User + system CPU time of process `pid` so far, ms; NaN where /proc cannot be read. */
export function processCpuMs(pid: number): number {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    // The fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the one process whose command name is `name`; undefined for none, or more than one. */
export function pidOf(name: string): number | undefined {
  const found: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) found.push(Number(entry));
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return undefined;
  }
  return found.length === 1 ? found[0] : undefined;
}
