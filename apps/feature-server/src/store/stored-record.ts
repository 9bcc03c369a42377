/** One stored action: the raw record as ingested plus the enrichment captured at ingest. */
export interface StoredRecord {
  actionId: string;
  userId: string;
  itemId: string;
  /** Proto `ActionType` number (1..5). */
  actionType: number;
  timestampMs: number;
  /** Proto `Surface` number. */
  surface: number;
  durationMs: number;
  /** Whether the item was in the catalog at ingest time. */
  itemKnown: boolean;
  /** The item's content vector at ingest time (zeros when unknown). */
  vector: Float32Array;
}

const FORMAT_VERSION = 1;
// Vectors are stored little-endian; on little-endian hosts they are copied as raw bytes.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const FLAG_ITEM_KNOWN = 1;
const HEADER_BYTES = 1 + 1 + 1 + 1 + 8 + 8 + 2 + 2 + 2 + 2;
const MAX_STRING_BYTES = 0xffff;

/**
 * Encodes a record into a compact binary value (the same bytes in every backend).
 * Layout: version, flags, type, surface, f64 timestamp, f64 duration, u16 dimension,
 * u16 lengths of the three ids, the ids as UTF-8, then the vector as float32 LE.
 */
export function encodeRecord(r: StoredRecord): Buffer {
  const actionId = Buffer.from(r.actionId, 'utf8');
  const userId = Buffer.from(r.userId, 'utf8');
  const itemId = Buffer.from(r.itemId, 'utf8');
  for (const [name, b] of [['actionId', actionId], ['userId', userId], ['itemId', itemId]] as const) {
    if (b.length > MAX_STRING_BYTES) throw new RangeError(`${name}: ${b.length} bytes exceeds ${MAX_STRING_BYTES}`);
  }
  const dim = r.vector.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + actionId.length + userId.length + itemId.length + dim * 4);
  let o = 0;
  o = out.writeUInt8(FORMAT_VERSION, o);
  o = out.writeUInt8(r.itemKnown ? FLAG_ITEM_KNOWN : 0, o);
  o = out.writeUInt8(r.actionType, o);
  o = out.writeUInt8(r.surface, o);
  o = out.writeDoubleLE(r.timestampMs, o);
  o = out.writeDoubleLE(r.durationMs, o);
  o = out.writeUInt16LE(dim, o);
  o = out.writeUInt16LE(actionId.length, o);
  o = out.writeUInt16LE(userId.length, o);
  o = out.writeUInt16LE(itemId.length, o);
  o += actionId.copy(out, o);
  o += userId.copy(out, o);
  o += itemId.copy(out, o);
  if (LITTLE_ENDIAN) Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength).copy(out, o);
  else for (let i = 0; i < dim; i++) o = out.writeFloatLE(r.vector[i] ?? 0, o);
  return out;
}

/**
 * Hands out the vectors of decoded records as views of shared slabs, so a
 * read of many records allocates a few backing stores, not one per record
 * (each small ArrayBuffer costs an allocation and a finalizer for the GC).
 * A slab lives as long as any of its views: use it for records that are read,
 * copied into a response and dropped, not for records kept.
 */
export class VectorSlab {
  private slab = new Float32Array(0);
  private used = 0;

  constructor(private readonly floats = 16_384) {}

  /** A view of `dim` floats of the current slab (zeros: the caller overwrites every one). */
  take(dim: number): Float32Array {
    if (dim > this.floats) return new Float32Array(dim);
    if (this.used + dim > this.slab.length) {
      this.slab = new Float32Array(this.floats);
      this.used = 0;
    }
    const v = this.slab.subarray(this.used, this.used + dim);
    this.used += dim;
    return v;
  }
}

/** The slab the action stores decode their reads into (read, copied into a response, dropped). */
export const READ_VECTORS = new VectorSlab();

/**
 * Decodes bytes written by `encodeRecord`: the first `size` bytes of `buf`
 * (default all of it). Copies everything it returns, so `buf` may be a
 * buffer the caller reuses; the vector goes into `slab` when given. Throws
 * RangeError on a truncated or unknown-format value.
 */
export function decodeRecord(buf: Uint8Array, size = buf.length, slab?: VectorSlab): StoredRecord {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const { actionType, timestampMs, dimension: dim, actionIdOffset, actionIdLength, userIdLength, itemIdLength, vectorOffset } = viewRecordRow(b, size, DECODE_VIEW);
  let o = actionIdOffset;
  const actionId = b.toString('utf8', o, (o += actionIdLength));
  const userId = b.toString('utf8', o, (o += userIdLength));
  const itemId = b.toString('utf8', o, (o += itemIdLength));
  const vector = slab ? slab.take(dim) : new Float32Array(dim);
  // A copy, not a view: LMDB hands out buffers that are reused after the read.
  if (LITTLE_ENDIAN) b.copy(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), 0, vectorOffset, vectorOffset + dim * 4);
  else for (let i = 0, p = vectorOffset; i < dim; i++, p += 4) vector[i] = b.readFloatLE(p);
  const flags = b[1] as number;
  return { actionId, userId, itemId, actionType, timestampMs, surface: b[3] as number, durationMs: b.readDoubleLE(12), itemKnown: (flags & FLAG_ITEM_KNOWN) !== 0, vector };
}

/** The header fields of an encoded record and where its parts start, read in place by {@link viewRecordRow}. */
export interface RecordRowView {
  actionType: number;
  timestampMs: number;
  /** Floats in the content vector. */
  dimension: number;
  /** Byte offset of the content vector (float32 little-endian). */
  vectorOffset: number;
  /** Byte offset and length of the action id (UTF-8); the user id and the item id follow it. */
  actionIdOffset: number;
  actionIdLength: number;
  userIdLength: number;
  itemIdLength: number;
}

/** decodeRecord's scratch view (it reads every field out before returning). */
const DECODE_VIEW: RecordRowView = { actionType: 0, timestampMs: 0, dimension: 0, vectorOffset: 0, actionIdOffset: 0, actionIdLength: 0, userIdLength: 0, itemIdLength: 0 };

/**
 * Reads and checks the header of the record in the first `size` bytes of
 * `buf` into `out` (reused across calls): no copy, no strings. The one reader
 * of the header: decodeRecord and the fast sequence read build on it.
 * Thrown by: a truncated or unknown-format value (RangeError).
 */
export function viewRecordRow(buf: Buffer, size: number, out: RecordRowView): RecordRowView {
  if (size < HEADER_BYTES) throw new RangeError(`stored record: ${size} bytes is shorter than the header`);
  const version = buf[0];
  if (version !== FORMAT_VERSION) throw new RangeError(`stored record: unknown format version ${version}`);
  const dim = buf.readUInt16LE(20);
  const aLen = buf.readUInt16LE(22);
  const uLen = buf.readUInt16LE(24);
  const iLen = buf.readUInt16LE(26);
  const expected = HEADER_BYTES + aLen + uLen + iLen + dim * 4;
  if (size !== expected) throw new RangeError(`stored record: ${size} bytes, expected ${expected}`);
  out.actionType = buf[2] as number;
  out.timestampMs = buf.readDoubleLE(4);
  out.dimension = dim;
  out.actionIdOffset = HEADER_BYTES;
  out.actionIdLength = aLen;
  out.userIdLength = uLen;
  out.itemIdLength = iLen;
  out.vectorOffset = HEADER_BYTES + aLen + uLen + iLen;
  return out;
}
