import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { ContractError } from './contract-error';
import {
  MAX_ID_BYTES,
  VECTOR_FILE_MAGIC,
  VECTOR_FILE_TRAILER,
  parseVectorFileHeader,
  type VectorFileHeader,
  type VectorFileHeaderInput,
} from './vector-file-format';

const FLUSH_BYTES = 1 << 20;

/**
 * Streams records into a vector file. The file is written under `<path>.partial`
 * and renamed into place only by a successful `close()`, so a crashed or
 * aborted writer never leaves a file that looks complete.
 */
export class VectorFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly hash: Hash,
    /** The validated header written at the start of the file. */
    readonly header: VectorFileHeader,
  ) {}

  /** Creates the file and writes its header. Thrown by: an invalid header (ContractError). */
  static async open(path: string, input: VectorFileHeaderInput): Promise<VectorFileWriter> {
    const header = parseVectorFileHeader(
      { format: 1, dtype: 'float32', extraFields: [], baseVersion: null, ...input },
      path,
    );
    const fh = await open(`${path}.partial`, 'w');
    const writer = new VectorFileWriter(fh, path, createHash('sha256'), header);
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length, 0);
    writer.push(VECTOR_FILE_MAGIC);
    writer.push(len);
    writer.push(json);
    return writer;
  }

  /** Appends one record. Thrown by: a wrong vector/extra length, a non-finite value, a bad id, too many records. */
  async write(id: string, vector: ArrayLike<number>, extra: ArrayLike<number> = []): Promise<void> {
    if (this.closed) throw new Error('VectorFileWriter: write after close');
    const { dimension, extraFields, count } = this.header;
    const at = `record ${this.written} (id "${id}")`;
    if (this.written >= count) throw new ContractError(`${at}: header.count is ${count}; no more records allowed`, this.path, 'count');
    const idBytes = Buffer.from(id, 'utf8');
    if (idBytes.length === 0 || idBytes.length > MAX_ID_BYTES)
      throw new ContractError(`${at}: id must be 1-${MAX_ID_BYTES} bytes`, this.path, 'id');
    if (vector.length !== dimension)
      throw new ContractError(`${at}: vector has ${vector.length} values, header.dimension is ${dimension}`, this.path, 'dimension');
    if (extra.length !== extraFields.length)
      throw new ContractError(`${at}: ${extra.length} extra values, header.extraFields has ${extraFields.length}`, this.path, 'extraFields');
    const rec = Buffer.alloc(2 + idBytes.length + 4 * (dimension + extra.length));
    rec.writeUInt16LE(idBytes.length, 0);
    idBytes.copy(rec, 2);
    let off = 2 + idBytes.length;
    for (const values of [vector, extra]) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        if (!Number.isFinite(v)) throw new ContractError(`${at}: value ${i} is ${v}; only finite values are allowed`, this.path, 'vector');
        rec.writeFloatLE(v, off);
        off += 4;
      }
    }
    this.push(rec);
    this.written++;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Writes the checksum trailer, syncs and renames the file into place. */
  async close(): Promise<{ count: number; checksum: string }> {
    if (this.closed) throw new Error('VectorFileWriter: closed twice');
    this.closed = true;
    try {
      if (this.written !== this.header.count)
        throw new ContractError(`only ${this.written} of header.count ${this.header.count} records were written`, this.path, 'count');
      await this.flush();
      const digest = this.hash.digest();
      await this.fh.write(Buffer.concat([VECTOR_FILE_TRAILER, digest]));
      await this.fh.sync();
      await this.fh.close();
      await rename(`${this.path}.partial`, this.path);
      return { count: this.written, checksum: `sha256:${digest.toString('hex')}` };
    } catch (err) {
      await this.fh.close().catch(() => undefined);
      await rm(`${this.path}.partial`, { force: true });
      throw err;
    }
  }

  /** Gives up: removes the partial file. */
  async abort(): Promise<void> {
    this.closed = true;
    await this.fh.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }

  private push(buf: Buffer): void {
    this.hash.update(buf);
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(data);
  }
}
