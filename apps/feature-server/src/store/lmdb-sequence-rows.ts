import { type SequenceWriter } from '@pinrank/features';
import { writeKey } from 'ordered-binary';
import { viewRecordRow, type RecordRowView } from './stored-record';

// The LMDB store's fast sequence read: a second handle on the records database
// whose value codec writes each value straight into the response tensors
// (SequenceWriter.pushBytes) and whose keys are never decoded. No record
// object, id string or vector copy is made per action; the ordinary read
// (decodeRecord + buildSequence) stays the reference the tests compare with.

/**
 * Key handling of the row handle: keys are written as the records database
 * writes them (ordered-binary, for the range bounds) and read as nothing, so
 * iterating a range decodes no key.
 */
export const UNREAD_KEYS = { writeKey, readKey: (): undefined => undefined };

/**
 * Whether an action id sorts the same in LMDB's key order (UTF-8 bytes) as in
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

/** One read's state while LMDB hands over the window's values, newest first. */
class RowRead {
  /** False once a row shows this read may differ from buildSequence's; the caller then reads the ordinary way. */
  exact = true;
  private readonly view: RecordRowView = { actionType: 0, timestampMs: 0, dimension: 0, vectorOffset: 0, actionIdOffset: 0, actionIdLength: 0 };
  private previousTimestamp = NaN;
  private previousOrderSafe = true;

  constructor(
    private readonly writer: SequenceWriter,
    private readonly includeTypes: ReadonlySet<number>,
  ) {}

  accept(bytes: Buffer, size: number): void {
    if (!this.exact) return;
    const v = viewRecordRow(bytes, size, this.view);
    const safe = orderSafe(bytes, v.actionIdOffset, v.actionIdOffset + v.actionIdLength);
    // Equal timestamps are ordered by action id: LMDB's order is buildSequence's only for order-safe ids.
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

/**
 * The value codec of the row handle. `decode` gets LMDB's shared read buffer
 * and the value's size, hands both to the read in progress and returns a
 * placeholder; reads are synchronous, so one codec serves every read.
 */
export class RowCodec {
  readonly needsStableBuffer = false;
  private current: RowRead | undefined;

  encode(): never {
    throw new Error('the row handle of the records database is read-only');
  }

  decode(bytes: Buffer, size?: unknown): true {
    if (!this.current) throw new Error('a records row was read outside RowCodec.read');
    this.current.accept(bytes, typeof size === 'number' ? size : bytes.length);
    return true;
  }

  /**
   * Runs `iterate` (which must iterate the range synchronously) with each value
   * written into `writer`; false when the rows may differ from what
   * buildSequence makes of the same records (`writer` is then spoiled).
   */
  read(writer: SequenceWriter, includeTypes: ReadonlySet<number>, iterate: () => void): boolean {
    const read = new RowRead(writer, includeTypes);
    this.current = read;
    try {
      iterate();
    } finally {
      this.current = undefined;
    }
    return read.exact;
  }
}
