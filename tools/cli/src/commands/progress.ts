import { SingleBar, Presets } from 'cli-progress';

/** A progress bar on stderr that shows one phase at a time; silent when `enabled` is false. */
export class PhaseProgress {
  private bar: SingleBar | undefined;
  private phase = '';

  /** `enabled` false makes every call a no-op (for `--quiet` and tests). */
  constructor(private readonly enabled: boolean) {}

  /** Reports `done` of `total` in `phase`, starting a new bar when the phase changes. */
  update(phase: string, done: number, total: number): void {
    if (!this.enabled) return;
    if (phase !== this.phase) {
      this.bar?.stop();
      this.phase = phase;
      this.bar = new SingleBar(
        { format: `${phase.padEnd(6)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream: process.stderr, hideCursor: true },
        Presets.shades_classic,
      );
      this.bar.start(total, done);
    }
    this.bar?.setTotal(total);
    this.bar?.update(done);
  }

  /** Stops the current bar. */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
