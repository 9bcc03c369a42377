import { type SequenceWriter } from '@pinrank/features';
import { writeKey } from 'ordered-binary';
import { SequenceRows } from './sequence-rows';

// The LMDB store's fast sequence read: a second handle on the records database
// whose value codec hands each value to SequenceRows, which writes it straight
// into the response tensors, and whose keys are never decoded. No record
// object, id string or key is made per action.

/**
 * Key handling of the row handle: keys are written as the records database
 * writes them (ordered-binary, for the range bounds) and read as nothing, so
 * iterating a range decodes no key.
 */
export const UNREAD_KEYS = { writeKey, readKey: (): undefined => undefined };

/**
 * The value codec of the row handle. `decode` gets LMDB's shared read buffer
 * and the value's size, hands both to the read in progress and returns a
 * placeholder; reads are synchronous, so one codec serves every read.
 */
export class RowCodec {
  readonly needsStableBuffer = false;
  private current: SequenceRows | undefined;

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
    const read = new SequenceRows(writer, includeTypes);
    this.current = read;
    try {
      iterate();
    } finally {
      this.current = undefined;
    }
    return read.exact;
  }
}
