import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ContractError } from '@pinrank/contracts';
import { readFramedHeader } from '@pinrank/contracts/internal';
import { itemId, userId } from '../ids';
import {
  ACTION_LOG_MAGIC,
  MAX_ACTION_LOG_HEADER_BYTES,
  MAX_ACTION_TYPE,
  MAX_BLOCK_BYTES,
  MAX_SURFACE,
  parseActionLogHeader,
  type ActionBatch,
  type ActionLogHeader,
  type ActionRecord,
} from './format';

/** Options of the action log readers. */
export interface ActionLogReadOptions {
  /** Stops reading (the iterator throws the signal's reason) when aborted. */
  signal?: AbortSignal;
}

/** Sequential byte reader over a (possibly gunzipped) stream, hashing what it hands out. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  private readonly chunks: AsyncIterator<Buffer>;
  readonly hash = createHash('sha256');

  constructor(
    stream: Readable,
    private readonly sources: Readable[],
    private readonly path: string,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async ensure(n: number): Promise<boolean> {
    if (this.buf.length - this.pos >= n) return true;
    const parts: Buffer[] = [this.buf.subarray(this.pos)];
    let have = parts[0]?.length ?? 0;
    while (have < n && !this.done) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.chunks.next();
      } catch (cause) {
        throw new ContractError(`cannot read: ${cause instanceof Error ? cause.message : String(cause)}`, this.path, undefined, { cause });
      }
      if (next.done) this.done = true;
      else {
        parts.push(next.value);
        have += next.value.length;
      }
    }
    this.buf = Buffer.concat(parts, have);
    this.pos = 0;
    return have >= n;
  }

  take(n: number, hashed = true): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (hashed) this.hash.update(out);
    return out;
  }

  async close(): Promise<void> {
    await this.chunks.return?.();
    // Destroying a gunzip stream does not close the file piped into it.
    for (const s of this.sources) s.destroy();
  }
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch((cause: unknown) => {
    throw new ContractError('cannot open action log', path, undefined, { cause });
  });
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function openReader(path: string): Promise<ByteReader> {
  const gz = await isGzip(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!gz) return new ByteReader(file, [file], path);
  const gunzip = createGunzip();
  // A read error on the file must reach the consumer of the gunzip stream.
  file.on('error', (err) => gunzip.destroy(err));
  return new ByteReader(file.pipe(gunzip), [gunzip, file], path);
}

async function readHeader(bytes: ByteReader, path: string): Promise<ActionLogHeader> {
  const json = await readFramedHeader(bytes, { magic: ACTION_LOG_MAGIC, maxHeaderBytes: MAX_ACTION_LOG_HEADER_BYTES, what: 'action log' }, path);
  return parseActionLogHeader(json, path);
}

/** Reads and validates only the header of an action log. */
export async function readActionLogHeader(path: string): Promise<ActionLogHeader> {
  const bytes = await openReader(path);
  try {
    return await readHeader(bytes, path);
  } finally {
    await bytes.close();
  }
}

function decodeBlock(payload: Buffer, count: number, base: number, firstIndex: number, header: ActionLogHeader, path: string): ActionBatch {
  const batch: ActionBatch = {
    firstIndex,
    length: count,
    timestampMs: new Float64Array(count),
    userIndex: new Uint32Array(count),
    itemIndex: new Uint32Array(count),
    actionType: new Uint8Array(count),
    surface: new Uint8Array(count),
    durationMs: new Uint32Array(count),
  };
  let o = 0;
  const end = payload.length;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (o >= end) throw new ContractError(`block at record ${firstIndex}: payload ends inside a record`, path, 'block');
      const byte = payload[o++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new ContractError(`block at record ${firstIndex}: varint too long`, path, 'block');
    }
  };
  let ts = base;
  for (let k = 0; k < count; k++) {
    ts += varint();
    const user = varint();
    const item = varint();
    if (o >= end) throw new ContractError(`record ${firstIndex + k}: payload ends inside a record`, path, 'block');
    const packed = payload[o++] as number;
    const duration = varint();
    const type = packed & 0x0f;
    const surface = packed >> 4;
    const at = `record ${firstIndex + k}`;
    if (user >= header.users) throw new ContractError(`${at}: user index ${user} >= header.users ${header.users}`, path, 'userIndex');
    if (item >= header.items) throw new ContractError(`${at}: item index ${item} >= header.items ${header.items}`, path, 'itemIndex');
    if (type < 1 || type > MAX_ACTION_TYPE) throw new ContractError(`${at}: action type ${type} is not 1..${MAX_ACTION_TYPE}`, path, 'actionType');
    if (surface > MAX_SURFACE) throw new ContractError(`${at}: surface ${surface} is not 0..${MAX_SURFACE}`, path, 'surface');
    batch.timestampMs[k] = ts;
    batch.userIndex[k] = user;
    batch.itemIndex[k] = item;
    batch.actionType[k] = type;
    batch.surface[k] = surface;
    batch.durationMs[k] = duration;
  }
  if (o !== end) throw new ContractError(`block at record ${firstIndex}: ${end - o} bytes left after ${count} records`, path, 'block');
  return batch;
}

/**
 * Streams an action log block by block as columns: the fast path for
 * training and bulk loads. Validates the header, every record, the order of
 * timestamps, the record count and the sha256 trailer. Thrown by: any
 * violation (ContractError naming the record and field), or the signal's reason.
 */
export async function* readActionBatches(path: string, options: ActionLogReadOptions = {}): AsyncGenerator<ActionBatch> {
  const bytes = await openReader(path);
  try {
    const header = await readHeader(bytes, path);
    let index = 0;
    let lastTs = -Infinity;
    for (;;) {
      options.signal?.throwIfAborted();
      if (!(await bytes.ensure(4))) throw new ContractError(`file ends after ${index} records without an end marker (truncated?)`, path, 'end');
      const size = bytes.take(4, false).readUInt32LE(0);
      if (size === 0) {
        if (!(await bytes.ensure(40))) throw new ContractError('file ends inside the trailer (truncated?)', path, 'end');
        const count = bytes.take(8, false).readDoubleLE(0);
        const digest = bytes.take(32, false);
        if (count !== index) throw new ContractError(`trailer says ${count} records, file holds ${index}`, path, 'count');
        if (!digest.equals(bytes.hash.digest())) throw new ContractError('sha256 trailer does not match the contents (corrupt file)', path, 'checksum');
        if (await bytes.ensure(1)) throw new ContractError('bytes after the trailer', path, 'end');
        return;
      }
      // The size word is hashed as part of the block (the end marker is not).
      bytes.hash.update(Buffer.from([size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, size >>> 24]));
      if (size > MAX_BLOCK_BYTES) throw new ContractError(`block at record ${index}: size ${size} exceeds ${MAX_BLOCK_BYTES}`, path, 'block');
      if (!(await bytes.ensure(12 + size))) throw new ContractError(`file ends inside the block at record ${index} (truncated?)`, path, 'block');
      const head = bytes.take(12);
      const count = head.readUInt32LE(0);
      const base = head.readDoubleLE(4);
      if (count === 0 || !Number.isSafeInteger(base) || base < lastTs)
        throw new ContractError(`block at record ${index}: bad count ${count} or base timestamp ${base}`, path, 'block');
      const batch = decodeBlock(bytes.take(size), count, base, index, header, path);
      index += count;
      lastTs = batch.timestampMs[count - 1] as number;
      yield batch;
    }
  } finally {
    await bytes.close();
  }
}

/** Streams an action log record by record with string ids (proto `UserAction` fields). Validates like `readActionBatches`. */
export async function* readActionLog(path: string, options: ActionLogReadOptions = {}): AsyncGenerator<ActionRecord> {
  const header = await readActionLogHeader(path);
  for await (const b of readActionBatches(path, options)) {
    for (let k = 0; k < b.length; k++) {
      const u = b.userIndex[k] as number;
      const i = b.itemIndex[k] as number;
      yield {
        actionId: `${header.actionIdPrefix}${b.firstIndex + k}`,
        userId: userId(u),
        itemId: itemId(i),
        actionType: b.actionType[k] as number,
        timestampMs: b.timestampMs[k] as number,
        surface: b.surface[k] as number,
        durationMs: b.durationMs[k] as number,
        userIndex: u,
        itemIndex: i,
      };
    }
  }
}

