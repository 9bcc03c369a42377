import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One learning-curve point. */
export interface CurveRow {
  step: number;
  loss: number;
  temperature: number;
  /** Seconds since this process started training (resets on resume). */
  elapsedS: number;
  /** Targets in the batch of this step. */
  targets: number;
  /** Held-out loss at this step (rows of validation steps only). */
  validationLoss?: number;
}

const COLUMNS: Array<keyof CurveRow> = ['step', 'loss', 'temperature', 'elapsedS', 'targets', 'validationLoss'];

/**
 * `curve.csv` and `curve.json` in the run directory, written as training goes
 * (a row is on disk as soon as it is appended). Opening at a resumed step
 * drops rows after it, so a resumed run's curve has no duplicates.
 */
export class LearningCurve {
  private constructor(
    private readonly dir: string,
    readonly rows: CurveRow[],
  ) {}

  /** Opens the curve of `dir`, keeping the rows up to `fromStep`. */
  static async open(dir: string, fromStep: number): Promise<LearningCurve> {
    let rows: CurveRow[] = [];
    if (fromStep > 0) {
      try {
        rows = (JSON.parse(await readFile(join(dir, 'curve.json'), 'utf8')) as CurveRow[]).filter((r) => r.step <= fromStep);
      } catch {
        rows = [];
      }
    }
    const curve = new LearningCurve(dir, rows);
    await writeFile(join(dir, 'curve.csv'), [COLUMNS.join(','), ...rows.map(csvLine)].join('\n') + '\n');
    await curve.writeJson();
    return curve;
  }

  /** Appends a row to both files. */
  async append(row: CurveRow): Promise<void> {
    this.rows.push(row);
    await appendFile(join(this.dir, 'curve.csv'), `${csvLine(row)}\n`);
    await this.writeJson();
  }

  private async writeJson(): Promise<void> {
    await writeFile(join(this.dir, 'curve.json'), `${JSON.stringify(this.rows)}\n`);
  }
}

function csvLine(r: CurveRow): string {
  return COLUMNS.map((c) => {
    const v = r[c];
    return v === undefined ? '' : c === 'step' || c === 'targets' ? String(v) : v.toPrecision(6);
  }).join(',');
}
