import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { type CliIo } from '../io';

/** Progress of a training run: a bar with loss and ETA on a terminal, otherwise a log line every 30 s and at the end. */
export interface TrainingProgress {
  /** Pass as the trainer's `onStep`. */
  onStep(step: number, steps: number, loss: number): void;
  /** Removes the bar (idempotent). */
  stop(): void;
}

/** Creates the progress display for `label` (e.g. "train", "train ranker"). */
export function trainingProgress(io: CliIo, label: string, enabled: boolean): TrainingProgress {
  const bar =
    enabled && io.errIsTty
      ? new SingleBar(
          { format: `${label} [{bar}] {percentage}% | {value}/{total} steps | loss {loss} | ETA {eta_formatted} | {duration_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
          Presets.shades_classic,
        )
      : undefined;
  let lastLog = 0;
  const started = Date.now();
  return {
    onStep(step, steps, loss) {
      if (bar) {
        if (step === 1 || !bar.getTotal()) bar.start(steps, step, { loss: loss.toFixed(4) });
        else bar.update(step, { loss: loss.toFixed(4) });
      } else if (Date.now() - lastLog > 30_000 || step === steps) {
        lastLog = Date.now();
        const eta = ((Date.now() - started) / step) * (steps - step);
        io.err(`step ${step}/${steps} loss ${loss.toFixed(4)} elapsed ${((Date.now() - started) / 1000).toFixed(0)} s ETA ${(eta / 1000).toFixed(0)} s\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/**
 * Whether to resume: `--resume` with a checkpoint in the run directory. Without
 * one the run starts from step 0 (a restarted batch job on a fresh volume) and says so.
 */
export function resumeFromCheckpoint(io: CliIo, runDir: string, resume: boolean | undefined): boolean {
  if (!resume) return false;
  if (existsSync(join(runDir, 'checkpoint', 'state.json'))) return true;
  io.err(`--resume: no checkpoint in ${runDir}; training from step 0\n`);
  return false;
}
