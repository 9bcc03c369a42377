import { type SequenceWriter } from '@pinrank/features';
import { viewRecordRow, type RecordRowView } from './stored-record';

// The stores' fast sequence read, shared by the LMDB and Redis backends; the
// ordinary read (decodeRecord + buildSequence) stays the reference the tests
// compare it with (src/read/sequence-reader.integration.spec.ts).

/**
 * Whether an action id sorts the same in the stores' order (UTF-8 bytes) as in
 * buildSequence's (JavaScript string order, UTF-16 code units): true when every
 * byte is printable ASCII or the start of a character below U+D000.
 */
function orderSafe(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = bytes[i] as number;
    if (b < 0x20 || b >= 0xed) return false;
  }
  return true;
}

/**
 * One fast sequence read: takes the window's stored records (encodeRecord's
 * bytes), newest first as the store orders them (timestamp, then action id
 * as UTF-8 bytes, both descending: an LMDB reverse range, a Redis
 * ZREVRANGEBYSCORE), and writes each straight into the response tensors
 * (SequenceWriter.pushBytes): no record object, no id string. `exact` turns
 * false when the rows might differ from what buildSequence makes of the same
 * records; the caller then reads the ordinary way.
 */
export class SequenceRows {
  /** False once a row shows this read may differ from buildSequence's; the caller then reads the ordinary way. */
  exact = true;
  private readonly view: RecordRowView = { actionType: 0, timestampMs: 0, dimension: 0, vectorOffset: 0, actionIdOffset: 0, actionIdLength: 0, userIdLength: 0, itemIdLength: 0 };
  private previousTimestamp = NaN;
  private previousOrderSafe = true;

  constructor(
    private readonly writer: SequenceWriter,
    private readonly includeTypes: ReadonlySet<number>,
  ) {}

  /** The next record: the first `size` bytes of `bytes` (read at once; `bytes` may be reused after). */
  accept(bytes: Buffer, size: number): void {
    if (!this.exact) return;
    const v = viewRecordRow(bytes, size, this.view);
    const safe = orderSafe(bytes, v.actionIdOffset, v.actionIdOffset + v.actionIdLength);
    // Equal timestamps are ordered by action id: the store's order is buildSequence's only for order-safe ids.
    const tieOrderUnknown = v.timestampMs === this.previousTimestamp && !(safe && this.previousOrderSafe);
    if (tieOrderUnknown || !this.includeTypes.has(v.actionType) || v.timestampMs > this.writer.shape.asOfMs || this.writer.full) {
      this.exact = false;
      return;
    }
    this.previousTimestamp = v.timestampMs;
    this.previousOrderSafe = safe;
    const idFrom = v.actionIdOffset;
    const idTo = idFrom + v.actionIdLength;
    this.writer.pushBytes(() => bytes.toString('utf8', idFrom, idTo), v.actionType, v.timestampMs, bytes, v.vectorOffset, v.dimension);
  }
}
