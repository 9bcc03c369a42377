import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { connectNats, watchOutages, type NatsSecurity } from '@pinrank/nats';
import { type NatsConnection } from 'nats';
import { type RequestLogOptions } from './router-options';

/** One served request, compact enough to become training data. */
export interface RequestLogEntry {
  /** Epoch ms when the response was sent. */
  ts: number;
  requestId: string;
  /** The request's OpenTelemetry trace id (joins the entry to its trace and its log lines). */
  traceId: string;
  method: 'Rank' | 'Recommend';
  userId: string;
  requestTimeMs: number;
  /** Candidates as asked (Rank) or as retrieved (Recommend). */
  candidates: number;
  /** Returned items, best first: [item id, utility, per-head probabilities in `heads` order]. */
  items: Array<[string, number, number[]]>;
  heads: string[];
  modelVersions: Record<string, string>;
  snapshotVersion: string;
  /** Degraded flag names. */
  degraded: string[];
  unknownItemIds: string[];
  /** The first layer's experiment and arm, when the user is in one. */
  experiment?: string;
  arm?: string;
  /** Every arm of the user: [layer, experiment, arm] in layer order. */
  assignments?: Array<[string, string, string]>;
  /** Present (true) for users in the experiment holdout. */
  holdout?: boolean;
}

/** Where request log entries go. `write` never throws and never waits on I/O. */
export interface RequestLog {
  write(entry: RequestLogEntry): void;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/**
 * A JSON-lines file rotated by size: when it reaches `maxBytes` it becomes
 * `<path>.1` (older files shift up; beyond `maxFiles` they are dropped).
 */
export class RotatingFileLog implements RequestLog {
  private stream: WriteStream | undefined;
  private size = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  private constructor(
    private readonly path: string,
    maxBytes: number,
    maxFiles: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.maxBytes = maxBytes;
    this.maxFiles = maxFiles;
  }

  /** Opens (appends to) the log file, creating its directory. */
  static async open(path: string, maxBytes: number, maxFiles: number, onError: (err: unknown) => void): Promise<RotatingFileLog> {
    await mkdir(dirname(path), { recursive: true });
    const log = new RotatingFileLog(path, maxBytes, maxFiles, onError);
    log.size = await stat(path).then((s) => s.size, () => 0);
    log.stream = createWriteStream(path, { flags: 'a' });
    return log;
  }

  write(entry: RequestLogEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    this.chain = this.chain.then(() => this.append(line)).catch(this.onError);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.endStream();
  }

  private async append(line: string): Promise<void> {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate();
    const stream = this.stream;
    if (!stream) return;
    if (!stream.write(line)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    this.size += bytes;
  }

  private async rotate(): Promise<void> {
    await this.endStream();
    // Shifting .i to .i+1 from the top overwrites the oldest kept file (.maxFiles).
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => undefined);
    }
    await rename(this.path, `${this.path}.1`);
    this.stream = createWriteStream(this.path, { flags: 'a' });
    this.size = 0;
  }

  private endStream(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (!s) return Promise.resolve();
    return new Promise<void>((resolve) => s.end(resolve));
  }
}

/** What the NATS request log keeps for the server while it is unreachable, by default: 8 MiB of entries. */
export const DEFAULT_OUTAGE_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Publishes each entry as JSON on a NATS subject (core NATS; a JetStream stream on the subject
 * makes it durable). The client reconnects through an outage and holds what is published
 * meanwhile, with no limit of its own; so while NATS is unreachable this log hands it at most
 * `outageBufferBytes` of entries and drops the rest, counted, and says so once the outage ends.
 */
export class NatsRequestLog implements RequestLog {
  private down = false;
  private heldBytes = 0;
  private dropped = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly onError: (err: unknown) => void,
    private readonly outageBufferBytes: number,
    private readonly onDrop: (() => void) | undefined,
  ) {
    watchOutages(nc, {
      down: (server) => {
        this.down = true;
        this.heldBytes = 0;
        this.onError(new Error(`request log: NATS unreachable (${server}); holding up to ${outageBufferBytes} bytes of entries until it is back, dropping the rest`));
      },
      up: () => {
        this.down = false;
        if (this.dropped > 0) this.onError(new Error(`request log: ${this.dropped} entries dropped while NATS was unreachable`));
        this.dropped = 0;
      },
    });
  }

  /** Connects to NATS (and keeps reconnecting through an outage). */
  static async open(
    servers: string,
    subject: string,
    onError: (err: unknown) => void,
    security: NatsSecurity = {},
    options: { outageBufferBytes?: number; reconnectTimeWaitMs?: number; onDrop?: () => void } = {},
  ): Promise<NatsRequestLog> {
    const nc = await connectNats({ servers, name: 'pinrank-ranker-request-log', ...security, ...(options.reconnectTimeWaitMs !== undefined ? { reconnectTimeWaitMs: options.reconnectTimeWaitMs } : {}) });
    return new NatsRequestLog(nc, subject, onError, options.outageBufferBytes ?? DEFAULT_OUTAGE_BUFFER_BYTES, options.onDrop);
  }

  /** Entries dropped in the current outage (0 while connected). */
  get droppedInOutage(): number {
    return this.dropped;
  }

  write(entry: RequestLogEntry): void {
    const data = Buffer.from(JSON.stringify(entry));
    if (this.down) {
      if (this.heldBytes + data.length > this.outageBufferBytes) {
        this.dropped++;
        this.onDrop?.();
        return;
      }
      this.heldBytes += data.length;
    }
    try {
      this.nc.publish(this.subject, data);
    } catch (err) {
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

/** Opens the configured request log, or undefined when none is configured; `onDrop` counts each entry the NATS log drops. */
export async function openRequestLog(o: RequestLogOptions | undefined, onError: (err: unknown) => void, onDrop?: () => void): Promise<RequestLog | undefined> {
  if (!o) return undefined;
  if (o.kind === 'file') return RotatingFileLog.open(o.path, o.maxBytes ?? 64 * 1024 * 1024, o.maxFiles ?? 5, onError);
  return NatsRequestLog.open(o.servers, o.subject, onError, o.security, onDrop ? { onDrop } : {});
}
