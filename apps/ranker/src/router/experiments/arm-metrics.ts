import { RPC_LATENCY_BUCKETS } from '@pinrank/telemetry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Treatment } from './experiment-plan';

/** Counters of one arm (or of the holdout, or of users in no experiment). */
export interface ArmTally {
  requests: number;
  errors: number;
  itemsReturned: number;
  degraded: number;
  latencyMsSum: number;
}

/** The counter key of held-out users and of users in no experiment. */
export const HOLDOUT_KEY = 'holdout';
export const NO_EXPERIMENT_KEY = 'none';

/** What one answered (or failed) request reports. */
export interface RequestRecord {
  method: 'Rank' | 'Recommend';
  /** gRPC status name. */
  code: string;
  seconds: number;
  items: number;
  degraded: boolean;
}

/**
 * Per-arm request counters, in memory (for ListExperiments) and as Prometheus
 * series labelled by layer, experiment and arm. A user in several layers
 * counts once in each of their arms.
 */
export class ArmMetrics {
  private readonly tallies = new Map<string, ArmTally>();
  private readonly requests: Counter<'layer' | 'experiment' | 'arm' | 'method' | 'code'>;
  private readonly latency: Histogram<'experiment' | 'arm' | 'method'>;
  private readonly items: Counter<'experiment' | 'arm'>;
  private readonly reloads: Counter<'result'>;
  private readonly info: Gauge<'version' | 'source'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'pinrank_experiment_requests_total',
      help: 'Rank and Recommend requests by experiment layer, experiment, arm, method and gRPC status ("holdout" and "none" for users outside every arm).',
      labelNames: ['layer', 'experiment', 'arm', 'method', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'pinrank_experiment_request_duration_seconds',
      help: 'Latency of answered Rank and Recommend requests by experiment and arm.',
      labelNames: ['experiment', 'arm', 'method'],
      buckets: [...RPC_LATENCY_BUCKETS],
      registers,
    });
    this.items = new Counter({ name: 'pinrank_experiment_items_returned_total', help: 'Items returned by experiment and arm.', labelNames: ['experiment', 'arm'], registers });
    this.reloads = new Counter({ name: 'pinrank_experiment_config_reloads_total', help: 'Experiment configuration reloads by result (applied, unchanged, refused).', labelNames: ['result'], registers });
    this.info = new Gauge({ name: 'pinrank_experiment_config_info', help: 'The serving experiment configuration (value 1).', labelNames: ['version', 'source'], registers });
  }

  /** Counts one request under each of the user's arms (or the holdout / no experiment). */
  record(t: Pick<Treatment, 'holdout' | 'arms'>, r: RequestRecord): void {
    const labels = t.holdout
      ? [{ key: HOLDOUT_KEY, layer: '', experiment: HOLDOUT_KEY, arm: HOLDOUT_KEY }]
      : t.arms.length === 0
        ? [{ key: NO_EXPERIMENT_KEY, layer: '', experiment: NO_EXPERIMENT_KEY, arm: NO_EXPERIMENT_KEY }]
        : t.arms.map((a) => ({ key: a.key, layer: a.layer, experiment: a.experiment, arm: a.name }));
    const ok = r.code === 'OK';
    for (const l of labels) {
      this.requests.inc({ layer: l.layer, experiment: l.experiment, arm: l.arm, method: r.method, code: r.code });
      const tally = this.tallies.get(l.key) ?? { requests: 0, errors: 0, itemsReturned: 0, degraded: 0, latencyMsSum: 0 };
      if (ok) {
        this.latency.observe({ experiment: l.experiment, arm: l.arm, method: r.method }, r.seconds);
        this.items.inc({ experiment: l.experiment, arm: l.arm }, r.items);
        tally.requests++;
        tally.itemsReturned += r.items;
        tally.latencyMsSum += r.seconds * 1000;
        if (r.degraded) tally.degraded++;
      } else {
        tally.errors++;
      }
      this.tallies.set(l.key, tally);
    }
  }

  /** The counters of `key` (an arm's `layer/experiment/arm`, "holdout" or "none"); zeros when it served nothing. */
  tally(key: string): ArmTally {
    return { ...(this.tallies.get(key) ?? { requests: 0, errors: 0, itemsReturned: 0, degraded: 0, latencyMsSum: 0 }) };
  }

  /** Counts a reload attempt. */
  reloaded(result: 'applied' | 'unchanged' | 'refused'): void {
    this.reloads.inc({ result });
  }

  /** Marks the serving configuration. */
  serving(version: string, source: string): void {
    this.info.reset();
    this.info.set({ version, source }, 1);
  }
}
