import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import { ContractError } from '@pinrank/contracts';
import {
  ACTION_LOG_MAGIC,
  MAX_ACTION_TYPE,
  MAX_SURFACE,
  parseActionLogHeader,
  writeVarint,
  type ActionLogHeader,
  type ActionLogRecord,
} from './format';

/** Options of `ActionLogWriter.open`. */
export interface ActionLogWriterOptions {
  /** Gzip the whole file. Default false. */
  gzip?: boolean;
  /** Records per block. Default 4096. */
  blockRecords?: number;
}

const MAX_RECORD_BYTES = 8 + 5 + 5 + 1 + 5;

/** The columns `writeColumns` takes (an `ActionTable` or an `ActionBatch`). */
export interface ActionColumnsView {
  readonly timestampMs: ArrayLike<number>;
  readonly userIndex: ArrayLike<number>;
  readonly itemIndex: ArrayLike<number>;
  readonly actionType: ArrayLike<number>;
  readonly surface: ArrayLike<number>;
  readonly durationMs: ArrayLike<number>;
}

/**
 * Streams actions, sorted by timestamp, into an action log. Written under
 * `<path>.partial` and renamed into place by a successful `close()`.
 */
export class ActionLogWriter {
  private readonly block: Buffer;
  private blockBytes = 0;
  private blockCount = 0;
  private blockBase = 0;
  private lastTs = -Infinity;
  private written = 0;
  private closed = false;
  private readonly scratch: ActionLogRecord = { userIndex: 0, itemIndex: 0, actionType: 0, surface: 0, timestampMs: 0, durationMs: 0 };

  private constructor(
    private readonly path: string,
    private readonly file: WriteStream,
    private readonly sink: WriteStream | Gzip,
    private readonly hash: Hash,
    private readonly blockRecords: number,
    /** The validated header at the start of the file. */
    readonly header: ActionLogHeader,
  ) {
    this.block = Buffer.alloc(blockRecords * MAX_RECORD_BYTES);
  }

  /** Creates the file and writes its header. Thrown by: an invalid header (ContractError) or bad options (RangeError). */
  static async open(path: string, header: ActionLogHeader, options: ActionLogWriterOptions = {}): Promise<ActionLogWriter> {
    const blockRecords = options.blockRecords ?? 4096;
    if (!Number.isInteger(blockRecords) || blockRecords < 1 || blockRecords > 1 << 20)
      throw new RangeError(`blockRecords must be an integer in 1..${1 << 20}, got ${blockRecords}`);
    const valid = parseActionLogHeader(header, path);
    const file = createWriteStream(`${path}.partial`);
    await once(file, 'open');
    let sink: WriteStream | Gzip = file;
    if (options.gzip) {
      const gz = createGzip({ level: 6 });
      gz.pipe(file);
      sink = gz;
    }
    const writer = new ActionLogWriter(path, file, sink, createHash('sha256'), blockRecords, valid);
    const json = Buffer.from(JSON.stringify(valid), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length, 0);
    await writer.emit(Buffer.concat([ACTION_LOG_MAGIC, len, json]));
    return writer;
  }

  /** Number of records written so far. */
  get count(): number {
    return this.written;
  }

  /** Appends one record. Thrown by: an out-of-order timestamp or an out-of-range field (ContractError). */
  async write(rec: ActionLogRecord): Promise<void> {
    if (this.closed) throw new Error('ActionLogWriter: write after close');
    this.append(rec);
    if (this.blockCount === this.blockRecords) await this.flushBlock();
  }

  /** Appends `order.length` records taken from columns in the given order (all rows when omitted). */
  async writeColumns(cols: ActionColumnsView, order?: ArrayLike<number>, length = order?.length ?? cols.timestampMs.length): Promise<void> {
    if (this.closed) throw new Error('ActionLogWriter: write after close');
    const r = this.scratch;
    for (let k = 0; k < length; k++) {
      const i = order ? (order[k] as number) : k;
      r.timestampMs = cols.timestampMs[i] as number;
      r.userIndex = cols.userIndex[i] as number;
      r.itemIndex = cols.itemIndex[i] as number;
      r.actionType = cols.actionType[i] as number;
      r.surface = cols.surface[i] as number;
      r.durationMs = cols.durationMs[i] as number;
      this.append(r);
      if (this.blockCount === this.blockRecords) await this.flushBlock();
    }
  }

  /** Writes the last block and the checksum trailer, then renames the file into place. */
  async close(): Promise<{ count: number; checksum: string }> {
    if (this.closed) throw new Error('ActionLogWriter: closed twice');
    this.closed = true;
    try {
      await this.flushBlock();
      const digest = this.hash.digest();
      const end = Buffer.alloc(12);
      end.writeUInt32LE(0, 0);
      end.writeDoubleLE(this.written, 4);
      await this.emit(Buffer.concat([end, digest]), false);
      this.sink.end();
      await finished(this.file);
      await rename(`${this.path}.partial`, this.path);
      return { count: this.written, checksum: `sha256:${digest.toString('hex')}` };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Gives up: removes the partial file. */
  async abort(): Promise<void> {
    this.closed = true;
    // Writes still queued fail once the streams are destroyed; nothing waits for them.
    const ignore = (): void => undefined;
    this.sink.on('error', ignore);
    this.file.on('error', ignore);
    this.sink.destroy();
    this.file.destroy();
    if (!this.file.closed) await once(this.file, 'close').catch(ignore);
    await rm(`${this.path}.partial`, { force: true });
  }

  private append(rec: ActionLogRecord): void {
    const { header } = this;
    const at = `record ${this.written}`;
    const bad = (field: string, rule: string, value: number): never => {
      throw new ContractError(`${at}: ${field} ${rule}, got ${value}`, this.path, field);
    };
    if (!Number.isSafeInteger(rec.timestampMs) || rec.timestampMs < 0) bad('timestampMs', 'must be epoch ms', rec.timestampMs);
    if (rec.timestampMs < this.lastTs) bad('timestampMs', `must not go back in time (previous ${this.lastTs})`, rec.timestampMs);
    if (!Number.isInteger(rec.userIndex) || rec.userIndex < 0 || rec.userIndex >= header.users)
      bad('userIndex', `must be in 0..${header.users - 1}`, rec.userIndex);
    if (!Number.isInteger(rec.itemIndex) || rec.itemIndex < 0 || rec.itemIndex >= header.items)
      bad('itemIndex', `must be in 0..${header.items - 1}`, rec.itemIndex);
    if (!Number.isInteger(rec.actionType) || rec.actionType < 1 || rec.actionType > MAX_ACTION_TYPE)
      bad('actionType', `must be a proto ActionType in 1..${MAX_ACTION_TYPE}`, rec.actionType);
    if (!Number.isInteger(rec.surface) || rec.surface < 0 || rec.surface > MAX_SURFACE)
      bad('surface', `must be a proto Surface in 0..${MAX_SURFACE}`, rec.surface);
    if (!Number.isInteger(rec.durationMs) || rec.durationMs < 0 || rec.durationMs > 0xffffffff)
      bad('durationMs', 'must be an integer in 0..2^32-1', rec.durationMs);
    if (this.blockCount === 0) {
      this.blockBase = rec.timestampMs;
      this.lastTs = rec.timestampMs;
    }
    const b = this.block;
    let o = this.blockBytes;
    o = writeVarint(b, o, rec.timestampMs - this.lastTs);
    o = writeVarint(b, o, rec.userIndex);
    o = writeVarint(b, o, rec.itemIndex);
    b[o++] = rec.actionType | (rec.surface << 4);
    o = writeVarint(b, o, rec.durationMs);
    this.blockBytes = o;
    this.blockCount++;
    this.lastTs = rec.timestampMs;
    this.written++;
  }

  private async flushBlock(): Promise<void> {
    if (this.blockCount === 0) return;
    const head = Buffer.alloc(16);
    head.writeUInt32LE(this.blockBytes, 0);
    head.writeUInt32LE(this.blockCount, 4);
    head.writeDoubleLE(this.blockBase, 8);
    const out = Buffer.concat([head, this.block.subarray(0, this.blockBytes)]);
    this.blockBytes = 0;
    this.blockCount = 0;
    await this.emit(out);
  }

  private async emit(buf: Buffer, hashed = true): Promise<void> {
    if (hashed) this.hash.update(buf);
    if (!this.sink.write(buf)) await once(this.sink, 'drain');
  }
}
