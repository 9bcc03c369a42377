import { PADDING_AGE_S, type BuiltSequence, type SequenceAction } from './sequence-types';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What a {@link SequenceWriter} needs to know of the sequence it writes. */
export interface SequenceShape {
  /** Request time (epoch ms); ages are relative to it. */
  asOfMs: number;
  /** Rows S. */
  maxLen: number;
  /** Content vector width D. */
  dimension: number;
}

/**
 * Writes rows, newest first, into one user's padded `transact_encoder` tensors:
 * the only place the row layout (action type, content vector, age in seconds
 * computed in float64, padding) is defined. `fillSequence` writes decoded
 * actions through it; a store may write its rows straight from their stored
 * bytes (`pushBytes`), with no decoded action in between.
 */
export class SequenceWriter {
  readonly actionTypes: BigInt64Array;
  readonly itemVectors: Float32Array;
  readonly agesS: Float32Array;
  private readonly vectorBytes: Uint8Array;
  private rows = 0;

  constructor(readonly shape: SequenceShape) {
    this.actionTypes = new BigInt64Array(shape.maxLen);
    this.itemVectors = new Float32Array(shape.maxLen * shape.dimension);
    this.agesS = new Float32Array(shape.maxLen).fill(PADDING_AGE_S);
    this.vectorBytes = new Uint8Array(this.itemVectors.buffer, this.itemVectors.byteOffset, this.itemVectors.byteLength);
  }

  /** Real rows written so far. */
  get length(): number {
    return this.rows;
  }

  /** Whether all S rows are written. */
  get full(): boolean {
    return this.rows === this.shape.maxLen;
  }

  /** Writes the next (older) row. Thrown by: a vector of another width than D, a full sequence (RangeError). */
  push(actionId: string, actionType: number, timestampMs: number, vector: Float32Array): void {
    const i = this.next(actionId, vector.length);
    this.itemVectors.set(vector, i * this.shape.dimension);
    this.finish(i, actionType, timestampMs);
  }

  /**
   * `push` with the content vector given as `dimension` float32 little-endian
   * values at `bytes[offset]` (copied; `bytes` may be reused after the call).
   * `describe` names the row in an error (called only then).
   */
  pushBytes(describe: () => string, actionType: number, timestampMs: number, bytes: Uint8Array, offset: number, dimension: number): void {
    if (dimension !== this.shape.dimension || this.full) this.next(describe(), dimension);
    const i = this.rows;
    const width = this.shape.dimension * 4;
    if (LITTLE_ENDIAN) {
      this.vectorBytes.set(bytes.subarray(offset, offset + width), i * width);
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset, width);
      for (let d = 0; d < this.shape.dimension; d++) this.itemVectors[i * this.shape.dimension + d] = view.getFloat32(d * 4, true);
    }
    this.finish(i, actionType, timestampMs);
  }

  /** The tensors with `rows` as the actions behind them (newest first; empty when the caller has none). */
  built(rows: SequenceAction[] = []): BuiltSequence {
    const { maxLen, dimension } = this.shape;
    return { length: this.rows, maxLen, dimension, rows, actionTypes: this.actionTypes, itemVectors: this.itemVectors, agesS: this.agesS };
  }

  /** The index of the next row, after checking it can be written. */
  private next(actionId: string, width: number): number {
    if (width !== this.shape.dimension) throw new RangeError(`action ${actionId}: content vector has ${width} values, expected ${this.shape.dimension}`);
    if (this.full) throw new RangeError(`action ${actionId}: the sequence already holds ${this.shape.maxLen} rows`);
    return this.rows;
  }

  private finish(i: number, actionType: number, timestampMs: number): void {
    this.actionTypes[i] = BigInt(actionType);
    this.agesS[i] = (this.shape.asOfMs - timestampMs) / 1000;
    this.rows = i + 1;
  }
}
