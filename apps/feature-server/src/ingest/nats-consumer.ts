import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { actionStreamPartitions } from '@pinrank/contracts';
import { connectNats, watchOutages, type NatsSecurity } from '@pinrank/nats';
import { UserAction } from '@pinrank/proto';
import { type Logger } from 'pino';
import { type FeatureServerMetrics } from '../metrics';
import { type Ingester } from './ingester';

/** Options of the JetStream action consumer. */
export interface NatsConsumerOptions {
  /** NATS server URLs, comma separated. */
  servers: string;
  /** TLS and credentials of the connection (default: plaintext, no credentials). */
  security?: NatsSecurity;
  /** Wait between reconnect attempts after a lost connection, ms (default 2000); the consumer never stops reconnecting. */
  reconnectTimeWaitMs?: number;
  /** JetStream stream name (with partitions, the prefix of each partition's stream name). */
  stream: string;
  /** Subject the actions are published on (one protobuf `UserAction` per message; with partitions, the prefix of each partition's subject). */
  subject: string;
  /** Durable consumer name, shared by all replicas so each action is consumed once (one per partition's stream). */
  durable: string;
  /**
   * Partitions of the action stream (`actionStreamPartitions` of `@pinrank/contracts`):
   * with P > 1 the consumer reads the streams `<stream>_0` … `<stream>_<P-1>` on the
   * subjects `<subject>.0` … `<subject>.<P-1>`. Default 1: the stream and subject as named.
   */
  partitions?: number;
  /** Most messages stored in one batch. Default 256. */
  batchSize?: number;
  /** Create the stream (on `subject`) and the durable consumer when missing. Default true. */
  create?: boolean;
  /**
   * Copies of each stream the consumer creates (JetStream `num_replicas`, at most the
   * cluster's servers). Default 1; 3 on a production cluster, so that losing a server loses
   * no acknowledged action. A stream that already exists with fewer is logged, not changed.
   */
  replicas?: number;
  /** Redelivery delay after a failed batch (enrichment or store down), ms. Default 1000. */
  retryDelayMs?: number;
  /** How long JetStream waits for an ack before redelivering, ms. Default 30000. */
  ackWaitMs?: number;
  /**
   * How long each pull request waits at the server, ms (at least 1000). Default 5000. The
   * server sends heartbeats every half of it, and two missed ones make the client pull again,
   * so a pull lost with a stream's leader is renewed within about this long. With NATS's own
   * default, 30 s, consumption stalled for about 30 s after the leader of an R3 stream was lost.
   */
  pullExpiresMs?: number;
  /** How often the consumer's backlog on each stream is polled into `feature_server_jetstream_backlog_actions`, ms; 0: never. Default 15000. */
  backlogPollMs?: number;
}

/** Whether JetStream answered that the stream or consumer asked about does not exist. */
const notFound = (err: unknown): boolean => /\b(stream|consumer) not found\b/i.test((err as Error).message ?? '');

/** JetStream replicates a stream on at most five servers. */
const MAX_STREAM_REPLICAS = 5;

/**
 * Creates `stream` on `subject` with `replicas` copies when it does not exist. An existing
 * stream is left as it is; one with fewer copies than asked for is logged with the command
 * that raises them. A creation JetStream refuses (more copies than servers, say) throws,
 * naming the stream and the copies asked for.
 */
async function ensureStream(jsm: JetStreamManager, stream: string, subject: string, replicas: number, logger: Logger | undefined): Promise<boolean> {
  let existing: number | undefined;
  try {
    existing = (await jsm.streams.info(stream)).config.num_replicas;
  } catch (err) {
    // Only a stream JetStream says is missing is created: a timeout (a leader election, say) is no answer.
    if (!notFound(err)) throw err;
    try {
      await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: replicas });
    } catch (err) {
      throw new Error(`jetstream: cannot create stream ${stream} with ${replicas} replica(s): ${(err as Error).message} (FEATURE_SERVER_NATS_REPLICAS must not exceed the JetStream servers)`);
    }
    logger?.info({ stream, subject, replicas }, 'jetstream: stream created');
    return true;
  }
  if (existing < replicas) {
    logger?.warn(
      { stream, replicas: existing, wanted: replicas },
      `jetstream: stream ${stream} keeps ${existing} cop${existing === 1 ? 'y' : 'ies'} of each action, fewer than the ${replicas} asked for; raise it with \`nats stream edit ${stream} --replicas ${replicas}\``,
    );
  }
  return false;
}

/** Creates the durable consumer `durable` of `stream` when it does not exist (explicit acks, from the stream's first message). */
async function ensureConsumer(jsm: JetStreamManager, stream: string, subject: string, durable: string, ackWaitMs: number, logger: Logger | undefined): Promise<boolean> {
  try {
    await jsm.consumers.info(stream, durable);
    return false;
  } catch (err) {
    if (!notFound(err)) throw err;
    await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: subject, ack_wait: nanos(ackWaitMs) });
    logger?.info({ stream, durable }, 'jetstream: durable consumer created');
    return true;
  }
}

/**
 * Follows the status of one stream's consumption and, when its durable consumer or the stream
 * is gone (removed by an operator, or lost with a NATS server's store), creates them again:
 * the client keeps asking for the consumer, and would otherwise consume nothing, silently,
 * for good. Checked when the client finds the consumer or stream missing and at each pull
 * left unanswered (missed heartbeats, every few seconds while nothing is delivered); not at
 * the "consumer deleted" notice itself: a stream and consumer created again at once, while
 * the server is still removing the old ones, could leave a consumer that never delivers
 * (seen with nats-server 2.9: messages stored, none pending). Ends with the consumption.
 */
async function recreateWhenMissing(messages: ConsumerMessages, stream: string, ensure: () => Promise<boolean>, logger: Logger | undefined): Promise<void> {
  const signs = new Set(['consumer_not_found', 'stream_not_found', 'heartbeats_missed']);
  for await (const s of await messages.status()) {
    if (!signs.has(s.type)) continue;
    try {
      if (await ensure()) logger?.warn({ stream, event: s.type }, 'jetstream: the durable consumer or its stream was gone; created it again');
    } catch (err) {
      logger?.warn({ err, stream, event: s.type }, 'jetstream: cannot check or create the stream and durable consumer; trying at the next sign');
    }
  }
}

/**
 * A JetStream durable pull consumer feeding the ingester (one per partition of the action
 * stream, all feeding the same batches). Messages are stored in batches of what has
 * arrived, and each is acked only after its batch is durable; a failed batch is nak'ed for
 * redelivery, which is idempotent because the store drops duplicate action ids.
 * Undecodable or invalid records are terminated (never redelivered) and counted.
 */
export class NatsActionConsumer {
  private pending: JsMsg[] = [];
  private chain: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private loop: Promise<void> = Promise.resolve();
  private stopped = false;
  private backlogTimer: NodeJS.Timeout | undefined;
  private backlogPoll: Promise<void> = Promise.resolve();
  private backlogFailing = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly messages: readonly ConsumerMessages[],
    private readonly ingester: Ingester,
    private readonly streamName: string,
    private readonly batchSize: number,
    private readonly retryDelayMs: number,
    private readonly metrics: FeatureServerMetrics | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  /** Connects, creates the stream and consumer if asked, and starts consuming. Throws TypeError on invalid options. */
  static async start(
    ingester: Ingester,
    options: NatsConsumerOptions,
    extras: { metrics?: FeatureServerMetrics; logger?: Logger; onLost?: (err: Error) => void } = {},
  ): Promise<NatsActionConsumer> {
    for (const key of ['servers', 'stream', 'subject', 'durable'] as const) {
      if (!options[key]) throw new TypeError(`nats.${key}: required`);
    }
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`nats.batchSize: must be an integer >= 1, got ${options.batchSize}`);
    const pullExpiresMs = options.pullExpiresMs ?? 5000;
    if (!Number.isInteger(pullExpiresMs) || pullExpiresMs < 1000) throw new TypeError(`nats.pullExpiresMs: must be an integer >= 1000, got ${options.pullExpiresMs}`);
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_STREAM_REPLICAS) throw new TypeError(`nats.replicas: must be an integer from 1 to ${MAX_STREAM_REPLICAS}, got ${options.replicas}`);
    const partitions = actionStreamPartitions(options.stream, options.subject, options.partitions ?? 1);
    const nc = await connectNats({
      servers: options.servers,
      name: 'pinrank-feature-server',
      ...options.security,
      ...(options.reconnectTimeWaitMs !== undefined ? { reconnectTimeWaitMs: options.reconnectTimeWaitMs } : {}),
    });
    const messages: ConsumerMessages[] = [];
    try {
      const pollMs = options.backlogPollMs ?? 15_000;
      const create = options.create ?? true;
      const jsm = create || (extras.metrics && pollMs > 0) ? await nc.jetstreamManager() : undefined;
      for (const { stream, subject } of partitions) {
        const ensure = async (): Promise<boolean> => {
          const streamCreated = await ensureStream(jsm as JetStreamManager, stream, subject, replicas, extras.logger);
          return (await ensureConsumer(jsm as JetStreamManager, stream, subject, options.durable, options.ackWaitMs ?? 30_000, extras.logger)) || streamCreated;
        };
        if (jsm && create) await ensure();
        const consumer = await nc.jetstream().consumers.get(stream, options.durable);
        const consuming = await consumer.consume({ max_messages: batchSize * 2, expires: pullExpiresMs });
        messages.push(consuming);
        if (jsm && create) void recreateWhenMissing(consuming, stream, ensure, extras.logger).catch((err: unknown) => extras.logger?.warn({ err, stream }, 'jetstream: stopped following the consumer status'));
      }
      const c = new NatsActionConsumer(nc, messages, ingester, options.stream, batchSize, options.retryDelayMs ?? 1000, extras.metrics, extras.logger);
      c.loop = Promise.all(messages.map((m) => c.run(m))).then(() => undefined);
      if (jsm && extras.metrics && pollMs > 0) c.pollBacklog(jsm, partitions.map((p) => p.stream), options.durable, pollMs);
      c.watchConnection(extras.onLost);
      return c;
    } catch (err) {
      await Promise.all(messages.map((m) => m.close()));
      await nc.close();
      throw err;
    }
  }

  /**
   * Logs the connection's disconnects and reconnects; the client reconnects for as long as it
   * takes. Should the connection close for good anyway (the server refused the credentials
   * on a reconnect, say), nothing would be consumed any more: `onLost` is told, once.
   */
  private watchConnection(onLost: ((err: Error) => void) | undefined): void {
    const connected = (up: boolean): void => this.metrics?.jetstreamConnected.set({ stream: this.streamName }, up ? 1 : 0);
    connected(true);
    this.logger?.info({ server: this.nc.getServer(), serverName: this.nc.info?.server_name }, 'jetstream: connected');
    watchOutages(this.nc, {
      down: (server) => {
        connected(false);
        this.logger?.warn({ server }, 'jetstream: connection lost; reconnecting');
      },
      up: (server) => {
        connected(true);
        this.logger?.info({ server, serverName: this.nc.info?.server_name }, 'jetstream: reconnected');
      },
      error: (err) => this.logger?.warn({ err }, 'jetstream: connection error'),
    });
    void this.nc.closed().then((err) => {
      if (this.stopped) return;
      connected(false);
      const lost = err ?? new Error('the NATS connection closed');
      this.logger?.error({ err: lost }, 'jetstream: connection closed for good; actions are no longer consumed');
      onLost?.(lost);
    });
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      this.pending.push(m);
      if (this.pending.length >= this.batchSize) {
        // Back-pressure: stop pulling until the current batches are stored.
        this.flush();
        await this.chain;
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    }
  }

  private flush(): void {
    this.chain = this.chain
      .then(async () => {
        while (this.pending.length > 0) await this.process(this.pending.splice(0, this.batchSize));
      })
      // Unacked messages are redelivered after ack_wait; the chain must survive for later batches.
      .catch((err: unknown) => this.logger?.error({ err }, 'jetstream: batch processing failed'));
  }

  private async process(msgs: JsMsg[]): Promise<void> {
    const decoded: Array<{ msg: JsMsg; action: UserAction }> = [];
    for (const msg of msgs) {
      try {
        decoded.push({ msg, action: UserAction.decode(msg.data) });
      } catch (err) {
        this.logger?.warn({ err, seq: msg.seq }, 'jetstream: undecodable action message terminated');
        this.metrics?.ingested.inc({ source: 'nats', result: 'rejected' });
        msg.term(); // no reason text: servers before 2.10 ignore "+TERM <reason>"
      }
    }
    if (decoded.length === 0) return;
    try {
      const result = await this.ingester.ingest(
        decoded.map((d) => d.action),
        'nats',
      );
      const visibleAt = Date.now();
      decoded.forEach(({ msg }, i) => {
        const o = result.outcomes[i];
        if (o?.result === 'rejected') {
          this.logger?.warn({ seq: msg.seq, reason: o.reason }, 'jetstream: invalid action terminated');
          msg.term();
        } else {
          msg.ack();
          if (o?.result === 'accepted') this.metrics?.ingestToVisible.observe(Math.max(0, visibleAt - msg.info.timestampNanos / 1e6) / 1000);
        }
      });
    } catch (err) {
      this.logger?.error({ err, count: decoded.length }, 'jetstream: batch not stored; redelivering');
      for (const { msg } of decoded) msg.nak(this.retryDelayMs);
    }
  }

  /**
   * Polls the durable consumer of each stream every `everyMs` and sets the backlog gauge: what
   * is not delivered yet plus what is delivered and not acked. A failed poll is logged once,
   * until one succeeds again; the gauge keeps its last values meanwhile.
   */
  private pollBacklog(jsm: JetStreamManager, streams: readonly string[], durable: string, everyMs: number): void {
    const poll = async (): Promise<void> => {
      try {
        const infos = await Promise.all(streams.map((stream) => jsm.consumers.info(stream, durable)));
        infos.forEach((info, i) => this.metrics?.jetstreamBacklog.set({ stream: streams[i] as string }, info.num_pending + info.num_ack_pending));
        this.backlogFailing = false;
      } catch (err) {
        if (!this.backlogFailing) this.logger?.warn({ err }, 'jetstream: backlog poll failed; retrying');
        this.backlogFailing = true;
      }
    };
    this.backlogPoll = poll();
    this.backlogTimer = setInterval(() => (this.backlogPoll = poll()), everyMs);
    this.backlogTimer.unref();
  }

  /** Stops pulling, waits for in-flight batches to be stored and acked, and closes the connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.backlogTimer);
    await this.backlogPoll;
    await Promise.all(this.messages.map((m) => m.close()));
    await this.loop;
    this.flush();
    await this.chain;
    await this.nc.drain();
  }
}
