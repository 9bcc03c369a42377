import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The feature-server's Prometheus metrics, on their own registry (the server exposes it). */
export class FeatureServerMetrics {
  readonly registry: Registry;
  /** Ingested records by source (grpc|nats) and result (accepted|duplicate|expired|rejected). */
  readonly ingested: Counter<'source' | 'result'>;
  /** Accepted records whose item was not in the catalog (stored flagged, zero vector). */
  readonly unknownItems: Counter<'source'>;
  /** Content-vector cache lookups by result (hit|miss|unknown_hit). */
  readonly cacheLookups: Gauge<'result'>;
  /** Seconds from JetStream publish to the action being persisted and visible. */
  readonly ingestToVisible: Histogram;
  /** Actions of each action-stream partition the durable consumer has not acked yet, as last polled. */
  readonly jetstreamBacklog: Gauge<'stream'>;
  /** 1 while the JetStream consumer's NATS connection is up, 0 while it reconnects, by action stream (absent without JetStream ingest). */
  readonly jetstreamConnected: Gauge<'stream'>;
  /** Users the Redis takeover sweep moved from the ids layout into the records layout. */
  readonly redisUsersMoved: Counter;
  /** 1 for the Redis prefix's layout mark this replica last read (ids | records | records+ids). */
  readonly redisLayout: Gauge<'mark'>;
  /** Where `redisLayout` reads the mark from at scrape time (Redis backend only). */
  redisLayoutMark: (() => string) | undefined;
  /** Where `cacheLookups` reads its values from at scrape time. */
  cacheStats: (() => { hits: number; misses: number; unknownHits: number }) | undefined;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.ingested = new Counter({
      name: 'feature_server_ingested_actions_total',
      help: 'Ingested action records by source and result.',
      labelNames: ['source', 'result'],
      registers: [registry],
    });
    this.unknownItems = new Counter({
      name: 'feature_server_unknown_items_total',
      help: 'Accepted actions whose item had no content vector (stored flagged with zeros).',
      labelNames: ['source'],
      registers: [registry],
    });
    this.cacheLookups = new Gauge({
      name: 'feature_server_content_cache_lookups',
      help: 'Content-vector cache lookups since start, by result.',
      labelNames: ['result'],
      registers: [registry],
      collect: () => {
        const s = this.cacheStats?.();
        if (!s) return;
        this.cacheLookups.set({ result: 'hit' }, s.hits);
        this.cacheLookups.set({ result: 'miss' }, s.misses);
        this.cacheLookups.set({ result: 'unknown_hit' }, s.unknownHits);
      },
    });
    this.redisUsersMoved = new Counter({
      name: 'feature_server_redis_takeover_moved_users_total',
      help: 'Users whose sequence actions the takeover sweep moved from the ids layout into the records layout.',
      registers: [registry],
    });
    this.redisLayout = new Gauge({
      name: 'feature_server_redis_layout',
      help: "1 for the Redis key prefix's layout mark as this replica last read it (records+ids: a takeover not yet finished).",
      labelNames: ['mark'],
      registers: [registry],
      collect: () => {
        const mark = this.redisLayoutMark?.();
        if (mark === undefined) return;
        this.redisLayout.reset();
        this.redisLayout.set({ mark }, 1);
      },
    });
    this.ingestToVisible = new Histogram({
      name: 'feature_server_jetstream_ingest_to_visible_seconds',
      help: 'Seconds from JetStream publish to the action being persisted and readable.',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    });
    this.jetstreamBacklog = new Gauge({
      name: 'feature_server_jetstream_backlog_actions',
      help: "Actions in each JetStream stream of the action stream that the feature-server's durable consumer has not acked yet (not delivered, or delivered and not stored), as this replica last polled.",
      labelNames: ['stream'],
      registers: [registry],
    });
    this.jetstreamConnected = new Gauge({
      name: 'feature_server_jetstream_connected',
      help: "1 while the JetStream action consumer's NATS connection is up, 0 while it is lost and reconnecting, labelled with the action stream's name (the prefix of its partitions' streams). Absent when the feature-server does not consume an action stream.",
      labelNames: ['stream'],
      registers: [registry],
    });
  }
}
