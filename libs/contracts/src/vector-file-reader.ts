import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ContractError } from './contract-error';
import { readFramedHeader } from './framed-header';
import {
  MAX_HEADER_BYTES,
  MAX_ID_BYTES,
  VECTOR_FILE_MAGIC,
  VECTOR_FILE_TRAILER,
  parseVectorFileHeader,
  type VectorFileHeader,
  type VectorRecord,
} from './vector-file-format';

const CHUNK = 1 << 20;

/** Buffered sequential reads over a file handle, hashing what it hands out. */
class ByteStream {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  readonly hash = createHash('sha256');
  consumed = 0;

  constructor(private readonly fh: FileHandle) {}

  /** Makes `n` bytes available; false when the file ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.buf.length - this.pos < n && !this.eof) {
      const chunk = Buffer.alloc(Math.max(CHUNK, n));
      const { bytesRead } = await this.fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) this.eof = true;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, bytesRead)]);
      this.pos = 0;
    }
    return this.buf.length - this.pos >= n;
  }

  take(n: number, hashed = true): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    if (hashed) this.hash.update(out);
    return out;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.ensure(1));
  }
}

async function readHeader(bytes: ByteStream, path: string): Promise<VectorFileHeader> {
  const json = await readFramedHeader(bytes, { magic: VECTOR_FILE_MAGIC, maxHeaderBytes: MAX_HEADER_BYTES, what: 'vector file' }, path);
  return parseVectorFileHeader(json, path);
}

/** Reads and validates only the header of a vector file. */
export async function readVectorFileHeader(path: string): Promise<VectorFileHeader> {
  const fh = await openOrThrow(path);
  try {
    return await readHeader(new ByteStream(fh), path);
  } finally {
    await fh.close();
  }
}

/**
 * Streams the records of a vector file, validating as it goes: header fields,
 * id lengths, finite values, the record count and the sha256 trailer. Thrown by
 * any violation (ContractError). Callers that must not act on a bad file
 * (snapshot loading) should stage records and commit only after the loop ends.
 */
export async function* readVectorFile(path: string): AsyncGenerator<VectorRecord, VectorFileHeader, undefined> {
  const fh = await openOrThrow(path);
  try {
    const bytes = new ByteStream(fh);
    const header = await readHeader(bytes, path);
    const width = header.dimension + header.extraFields.length;
    for (let i = 0; i < header.count; i++) {
      const at = `record ${i} of ${header.count}`;
      if (!(await bytes.ensure(2))) throw new ContractError(`file ends at ${at} (truncated?)`, path, 'count');
      const idLen = bytes.take(2).readUInt16LE(0);
      if (idLen === 0 || idLen > MAX_ID_BYTES) throw new ContractError(`${at}: id length ${idLen} is out of range 1..${MAX_ID_BYTES}`, path, 'id');
      if (!(await bytes.ensure(idLen + 4 * width))) throw new ContractError(`file ends inside ${at} (truncated?)`, path, 'count');
      const id = bytes.take(idLen).toString('utf8');
      const raw = bytes.take(4 * width);
      const values = new Float32Array(width);
      for (let j = 0; j < width; j++) {
        const v = raw.readFloatLE(4 * j);
        if (!Number.isFinite(v)) throw new ContractError(`${at} (id "${id}"): value ${j} is ${v}; only finite values are allowed`, path, 'vector');
        values[j] = v;
      }
      yield { id, vector: values.subarray(0, header.dimension), extra: values.subarray(header.dimension) };
    }
    const digest = bytes.hash.digest();
    if (!(await bytes.ensure(VECTOR_FILE_TRAILER.length + 32)))
      throw new ContractError(`checksum trailer missing after ${header.count} records (truncated, or header.count too small?)`, path, 'checksum');
    const trailer = bytes.take(VECTOR_FILE_TRAILER.length, false);
    if (!trailer.equals(VECTOR_FILE_TRAILER))
      throw new ContractError(`no checksum trailer after ${header.count} records (header.count does not match the records?)`, path, 'count');
    const expected = bytes.take(32, false);
    if (!expected.equals(digest))
      throw new ContractError(`checksum mismatch: file says sha256:${expected.toString('hex')}, content hashes to sha256:${digest.toString('hex')}`, path, 'checksum');
    if (!(await bytes.atEnd())) throw new ContractError('unexpected bytes after the checksum trailer', path, 'checksum');
    return header;
  } finally {
    await fh.close();
  }
}

async function openOrThrow(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    throw new ContractError(`cannot open vector file: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, path, undefined, { cause });
  }
}
