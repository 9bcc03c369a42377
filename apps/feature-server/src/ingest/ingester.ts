import { type UserAction } from '@pinrank/proto';
import { type ContentVectorSource } from '../enrich/content-source';
import { type FeatureServerMetrics } from '../metrics';
import { type ActionStore } from '../store/action-store';
import { type StoredRecord } from '../store/stored-record';
import { DEFAULT_VALIDATION_LIMITS, validateAction, type ValidationLimits } from './validate';

/** What happened to one record. */
export type RecordOutcome =
  | { result: 'accepted'; itemKnown: boolean }
  | { result: 'duplicate' }
  | { result: 'expired' }
  | { result: 'rejected'; reason: string };

/** Totals of one ingested batch, plus each record's outcome in input order. */
export interface BatchResult {
  outcomes: RecordOutcome[];
  accepted: number;
  duplicates: number;
  /** Valid records older than the user's full retention window (not stored). */
  expired: number;
  rejected: number;
  unknownItems: number;
}

/** Options of the ingester. */
export interface IngesterOptions {
  /** Record limits. Default DEFAULT_VALIDATION_LIMITS. */
  limits?: ValidationLimits;
  /** Content vector width. Default 32. */
  dimension?: number;
  /** Server clock. Default Date.now. */
  now?: () => number;
  /** Metrics to count into. */
  metrics?: FeatureServerMetrics;
}

/**
 * The one ingest path of every source (gRPC stream, JetStream): validate, enrich with
 * content vectors in one batch lookup, append to the store. Resolves once the accepted
 * records are durable; rejects (storing nothing new) when enrichment or the store fails.
 */
export class Ingester {
  private readonly limits: ValidationLimits;
  private readonly dimension: number;
  private readonly now: () => number;
  private readonly metrics: FeatureServerMetrics | undefined;

  /** Throws TypeError on invalid options. */
  constructor(
    private readonly store: ActionStore,
    private readonly source: ContentVectorSource,
    options: IngesterOptions = {},
  ) {
    this.limits = options.limits ?? DEFAULT_VALIDATION_LIMITS;
    this.dimension = options.dimension ?? 32;
    if (!Number.isInteger(this.dimension) || this.dimension < 1) throw new TypeError(`dimension: must be an integer >= 1, got ${options.dimension}`);
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
  }

  /** Ingests one batch of actions from `sourceName` (a metrics label). */
  async ingest(actions: readonly UserAction[], sourceName: 'grpc' | 'nats'): Promise<BatchResult> {
    const now = this.now();
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(actions.length);
    const validIdx: number[] = [];
    actions.forEach((a, i) => {
      const reason = validateAction(a, now, this.limits);
      if (reason) outcomes[i] = { result: 'rejected', reason };
      else validIdx.push(i);
    });
    if (validIdx.length > 0) {
      const vectors = await this.source.get([...new Set(validIdx.map((i) => (actions[i] as UserAction).itemId))]);
      const records: StoredRecord[] = validIdx.map((i) => this.toRecord(actions[i] as UserAction, vectors));
      const stored = await this.store.append(records);
      validIdx.forEach((i, j) => {
        const o = stored[j];
        outcomes[i] = o === 'accepted' ? { result: 'accepted', itemKnown: (records[j] as StoredRecord).itemKnown } : { result: o ?? 'duplicate' };
      });
    }
    const result: BatchResult = { outcomes, accepted: 0, duplicates: 0, expired: 0, rejected: 0, unknownItems: 0 };
    for (const o of outcomes) {
      if (o.result === 'accepted') {
        result.accepted++;
        if (!o.itemKnown) result.unknownItems++;
      } else if (o.result === 'duplicate') result.duplicates++;
      else if (o.result === 'expired') result.expired++;
      else result.rejected++;
    }
    if (this.metrics) {
      this.metrics.ingested.inc({ source: sourceName, result: 'accepted' }, result.accepted);
      this.metrics.ingested.inc({ source: sourceName, result: 'duplicate' }, result.duplicates);
      this.metrics.ingested.inc({ source: sourceName, result: 'expired' }, result.expired);
      this.metrics.ingested.inc({ source: sourceName, result: 'rejected' }, result.rejected);
      this.metrics.unknownItems.inc({ source: sourceName }, result.unknownItems);
    }
    return result;
  }

  private toRecord(a: UserAction, vectors: Map<string, Float32Array>): StoredRecord {
    const v = vectors.get(a.itemId);
    if (v && v.length !== this.dimension) {
      throw new Error(`content vector of item ${a.itemId} has ${v.length} values, expected ${this.dimension}`);
    }
    return {
      actionId: a.actionId,
      userId: a.userId,
      itemId: a.itemId,
      actionType: a.actionType,
      timestampMs: a.timestampMs,
      surface: a.surface,
      durationMs: a.durationMs,
      itemKnown: v !== undefined,
      vector: v ?? new Float32Array(this.dimension),
    };
  }
}
