import { InvalidArgumentError } from 'commander';

/** A `--snapshot label=daysBeforeStart` value. */
export interface SnapshotSpec {
  label: string;
  /** Days before the run start (the world's end); 0 = as of the world's last day. */
  daysBefore: number;
}

/** The default snapshot list: one computed as of the world's last day. */
export const DEFAULT_SNAPSHOTS: readonly SnapshotSpec[] = [{ label: 'fresh', daysBefore: 0 }];

/** Commander collector of repeated `--snapshot label=days` options. */
export function collectSnapshot(value: string, previous: SnapshotSpec[] | undefined): SnapshotSpec[] {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(\d+)$/.exec(value.trim());
  if (!m?.[1] || m[2] === undefined) throw new InvalidArgumentError(`expected label=daysBeforeStart (e.g. stale=14), got "${value}"`);
  const label = m[1];
  const list = previous ?? [];
  if (list.some((s) => s.label === label)) throw new InvalidArgumentError(`snapshot label "${label}" is given twice`);
  return [...list, { label, daysBefore: Number(m[2]) }];
}

/** Commander parser of `--speedup`: "max" or a positive number of simulated ms per wall ms. */
export function parseSpeedup(value: string): number | 'max' {
  if (value.trim() === 'max') return 'max';
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected "max" or a positive number, got "${value}"`);
  return n;
}

/** Commander collector of repeated `KEY=VALUE` options into an environment. */
export function collectEnv(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...(previous ?? {}), [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Which stack a run uses: one it starts itself, or a running one given by address. */
export type StackChoice = { kind: 'own' } | { kind: 'attach'; router: string; featureServer: string; world: string };

/**
 * Checks the stack-related flags: `--router` and `--feature-server` go
 * together and then need `--world` (the world that stack serves). Thrown by:
 * an incomplete combination (Error saying what to add).
 */
export function chooseStack(flags: { router?: string; featureServer?: string; world?: string }): StackChoice {
  if (!flags.router && !flags.featureServer) return { kind: 'own' };
  if (!flags.router || !flags.featureServer) throw new Error('a running stack needs both --router and --feature-server (or give neither to start one)');
  if (!flags.world) throw new Error('with --router/--feature-server, give --world: the world directory that stack serves');
  return { kind: 'attach', router: flags.router, featureServer: flags.featureServer, world: flags.world };
}

/**
 * Checks that every snapshot version an arm pins is among the snapshots the
 * run computes. Thrown by: a pinned label with no `--snapshot` (Error with the fix).
 */
export function checkPinnedSnapshots(pinned: readonly string[], snapshots: readonly SnapshotSpec[]): void {
  const labels = new Set(snapshots.map((s) => s.label));
  const missing = pinned.filter((v) => !labels.has(v));
  if (missing.length > 0)
    throw new Error(
      `the configuration pins snapshot ${missing.map((m) => `"${m}"`).join(', ')}, which the run does not compute; add --snapshot ${missing[0]}=<daysBeforeStart> (computed: ${[...labels].join(', ')})`,
    );
}
