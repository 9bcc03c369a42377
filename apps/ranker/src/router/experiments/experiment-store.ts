import { readFile, stat } from 'node:fs/promises';
import { ContractError, parseExperimentsConfig, parseExperimentsJson, type ExperimentsConfig } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { type ArmMetrics } from './arm-metrics';
import { compilePlan, ExperimentConfigError, type PlanContext } from './compile-plan';
import { type ExperimentsSource } from '../router-options';
import { ExperimentPlan, type PlanDefaults } from './experiment-plan';

/** The outcome of a reload that was applied or found nothing new. */
export interface ReloadOutcome {
  changed: boolean;
  version: string;
}

/**
 * The serving experiment plan and its reloads. A request reads `current` once
 * and keeps that plan to its end, so a swap never mixes two configurations in
 * one request and drops none. A configuration that fails validation is refused
 * and the previous one keeps serving.
 */
export class ExperimentStore {
  private plan: ExperimentPlan;
  private lastText: string | undefined;
  private lastStat = '';
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** The last refused reload's reason ('' when none). */
  lastError = '';
  /** When the source was last read, epoch ms (0 = only at start). */
  lastReloadAtMs = 0;

  private constructor(
    private readonly source: ExperimentsSource | undefined,
    private readonly context: () => Promise<PlanContext>,
    readonly metrics: ArmMetrics,
    private readonly logger: () => Logger | undefined,
    initial: ExperimentPlan,
  ) {
    this.plan = initial;
    metrics.serving(initial.version, initial.source);
  }

  /**
   * Loads the configured source (or none) and, for a file, starts watching it.
   * Thrown by: an unreadable or invalid configuration — the router must not start on it.
   */
  static async open(
    source: ExperimentsSource | undefined,
    defaults: PlanDefaults,
    context: () => Promise<PlanContext>,
    metrics: ArmMetrics,
    logger: () => Logger | undefined,
  ): Promise<ExperimentStore> {
    if (!source) return new ExperimentStore(undefined, context, metrics, logger, ExperimentPlan.none(defaults));
    let text: string | undefined;
    let config: ExperimentsConfig;
    if (source.kind === 'file') {
      text = await readFile(source.path, 'utf8').catch((err: Error) => {
        throw new ExperimentConfigError(`experiment configuration ${source.path}: ${err.message}`, { cause: err });
      });
      config = parseExperimentsJson(text, source.path);
    } else {
      config = parseExperimentsConfig(source.config, source.label ?? 'inline');
    }
    const plan = await compilePlan(config, sourceName(source), await context()).catch((err: Error) => {
      throw new ExperimentConfigError(`experiment configuration ${sourceName(source)}: ${err.message}`, { cause: err });
    });
    const store = new ExperimentStore(source, context, metrics, logger, plan);
    store.lastText = text;
    if (source.kind === 'file') {
      store.lastStat = await statKey(source.path);
      const every = source.reloadIntervalMs ?? 2000;
      if (every > 0) {
        store.timer = setInterval(() => void store.poll(), every);
        store.timer.unref();
      }
    }
    return store;
  }

  /** The plan serving now. */
  get current(): ExperimentPlan {
    return this.plan;
  }

  /**
   * Re-reads the file now (ReloadExperiments). Reloads run one at a time.
   * Thrown by: no file configured, or a configuration that fails validation —
   * FAILED_PRECONDITION with the reason; the previous plan keeps serving.
   */
  reload(): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadOnce());
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops watching the file. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.source?.kind !== 'file') return;
    const key = await statKey(this.source.path);
    if (key === this.lastStat) return;
    this.lastStat = key;
    // Refusals are logged and counted by reloadOnce.
    await this.reload().catch(() => undefined);
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const source = this.source;
    if (source?.kind !== 'file') {
      throw new PinrankError('FAILED_PRECONDITION', source ? 'the experiment configuration is inline (RANKER_EXPERIMENTS); change it and restart the router' : 'no experiment configuration file is configured (RANKER_EXPERIMENTS_FILE)');
    }
    this.lastReloadAtMs = Date.now();
    try {
      const text = await readFile(source.path, 'utf8');
      if (text === this.lastText) {
        this.metrics.reloaded('unchanged');
        this.lastError = '';
        return { changed: false, version: this.plan.version };
      }
      const plan = await compilePlan(parseExperimentsJson(text, source.path), source.path, await this.context());
      this.plan = plan;
      this.lastText = text;
      this.lastError = '';
      this.metrics.reloaded('applied');
      this.metrics.serving(plan.version, plan.source);
      this.logger()?.info({ source: source.path, version: plan.version, arms: plan.arms.map((a) => a.key) }, 'experiment configuration applied');
      return { changed: true, version: plan.version };
    } catch (err) {
      const reason = err instanceof ContractError || err instanceof ExperimentConfigError ? err.message : `${source.path}: ${(err as Error).message}`;
      this.lastError = reason;
      this.metrics.reloaded('refused');
      this.logger()?.warn({ source: source.path, reason, serving: this.plan.version }, 'experiment configuration refused; the previous one keeps serving');
      throw new PinrankError('FAILED_PRECONDITION', `experiment configuration refused, the previous one (version "${this.plan.version}") keeps serving: ${reason}`, { cause: err });
    }
  }
}

function sourceName(source: ExperimentsSource): string {
  return source.kind === 'file' ? source.path : (source.label ?? 'inline');
}

async function statKey(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}
