import { buildSequence, DEFAULT_SEQUENCE_LENGTH, MAX_SEQUENCE_LENGTH, SequenceWriter, type BuiltSequence } from '@pinrank/features';
import { DataType, RealtimeSequence, StoredAction, Tensor, UserAction } from '@pinrank/proto';
import { type ActionStore } from '../store/action-store';
import { type StoredRecord } from '../store/stored-record';

/** Options of the sequence reader. */
export interface SequenceReaderOptions {
  /** Action types that enter the sequence (must match the store's retention). */
  includeTypes: ReadonlySet<number>;
  /** Content vector width D. Default 32. */
  dimension?: number;
  /** Server clock, used when a request has no as_of. Default Date.now. */
  now?: () => number;
  /**
   * Use the store's fast path (`ActionStore.readSequenceInto`) where it has one
   * and the request wants no records. Default true; false reads every sequence
   * through decoded records and buildSequence (the reference the fast path is
   * tested against).
   */
  storeFastPath?: boolean;
}

/** One read request, as parsed from the proto (max_len 0 and as_of 0 mean defaults). */
export interface SequenceQuery {
  maxLen: number;
  asOfMs: number;
  includeRecords: boolean;
}

/** Thrown by the reader when a request field is out of range; the server maps it to INVALID_ARGUMENT. */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidQueryError';
}

/**
 * Turns a user's stored actions into a `RealtimeSequence` in the `transact_encoder`
 * contract through the shared sequence builder (libs/features), so serving and
 * training build identical tensors.
 */
export class SequenceReader {
  private readonly includeTypes: ReadonlySet<number>;
  private readonly dimension: number;
  private readonly now: () => number;
  private readonly fastPath: boolean;

  constructor(
    private readonly store: ActionStore,
    options: SequenceReaderOptions,
  ) {
    this.includeTypes = options.includeTypes;
    this.dimension = options.dimension ?? 32;
    this.now = options.now ?? Date.now;
    this.fastPath = options.storeFastPath ?? true;
  }

  /** Resolves defaults; throws InvalidQueryError naming the bad field. */
  resolve(maxLen: number, asOfMs: number, includeRecords = false): SequenceQuery {
    const len = maxLen === 0 ? DEFAULT_SEQUENCE_LENGTH : maxLen;
    if (!Number.isInteger(len) || len < 1 || len > MAX_SEQUENCE_LENGTH) {
      throw new InvalidQueryError(`max_len: must be 0 (default ${DEFAULT_SEQUENCE_LENGTH}) or 1..${MAX_SEQUENCE_LENGTH}, got ${maxLen}`);
    }
    if (!Number.isSafeInteger(asOfMs) || asOfMs < 0) throw new InvalidQueryError(`as_of_ms: must be 0 (now) or a positive epoch-ms value, got ${asOfMs}`);
    return { maxLen: len, asOfMs: asOfMs === 0 ? this.now() : asOfMs, includeRecords };
  }

  /** One user's sequence; an unknown user gets an empty, fully padded sequence. */
  async read(userId: string, q: SequenceQuery): Promise<RealtimeSequence> {
    return this.response(userId, (await this.direct(userId, q)) ?? this.build(await this.store.readSequence(userId, this.window(q)), q), q);
  }

  /** Many users' sequences in request order (duplicates allowed). */
  async readMany(userIds: readonly string[], q: SequenceQuery): Promise<RealtimeSequence[]> {
    const distinct = [...new Set(userIds)];
    // The fast reads go out together (a Redis backend gets them back to back on its connection).
    const direct = await Promise.all(distinct.map((u) => this.direct(u, q)));
    const byUser = new Map<string, BuiltSequence>();
    const slow: string[] = [];
    distinct.forEach((u, i) => {
      const built = direct[i];
      if (built) byUser.set(u, built);
      else slow.push(u);
    });
    const lists = slow.length > 0 ? await this.store.readSequences(slow, this.window(q)) : [];
    slow.forEach((u, i) => byUser.set(u, this.build(lists[i] ?? [], q)));
    return userIds.map((u) => this.response(u, byUser.get(u) as BuiltSequence, q));
  }

  private window(q: SequenceQuery): { asOfMs: number; limit: number } {
    return { asOfMs: q.asOfMs, limit: q.maxLen };
  }

  /** The sequence through the store's fast path; undefined when there is none, the request wants records, or the store declines. */
  private async direct(userId: string, q: SequenceQuery): Promise<BuiltSequence | undefined> {
    if (!this.fastPath || q.includeRecords || !this.store.readSequenceInto) return undefined;
    const writer = new SequenceWriter({ asOfMs: q.asOfMs, maxLen: q.maxLen, dimension: this.dimension });
    return (await this.store.readSequenceInto(userId, this.window(q), writer, this.includeTypes)) ? writer.built() : undefined;
  }

  private build(records: StoredRecord[], q: SequenceQuery): BuiltSequence {
    return buildSequence(records, { asOfMs: q.asOfMs, maxLen: q.maxLen, dimension: this.dimension, includeTypes: this.includeTypes });
  }

  private response(userId: string, seq: BuiltSequence, q: SequenceQuery): RealtimeSequence {
    const S = q.maxLen;
    return RealtimeSequence.fromPartial({
      userId,
      length: seq.length,
      asOfMs: q.asOfMs,
      // Raw little-endian bytes of the builder's arrays: no per-value numbers to make and encode.
      actionTypes: rawTensor(DataType.DATA_TYPE_INT64, [1, S], seq.actionTypes),
      itemVectors: rawTensor(DataType.DATA_TYPE_FLOAT32, [1, S, this.dimension], seq.itemVectors),
      agesS: rawTensor(DataType.DATA_TYPE_FLOAT32, [1, S], seq.agesS),
      records: q.includeRecords ? (seq.rows as StoredRecord[]).map(toStoredAction) : [],
    });
  }
}

/** A Tensor message whose values are the array's bytes (a view, no copy). */
function rawTensor(dtype: DataType, shape: number[], data: Float32Array | BigInt64Array): Tensor {
  return Tensor.fromPartial({ dtype, shape, raw: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
}

function toStoredAction(r: StoredRecord): StoredAction {
  return StoredAction.fromPartial({
    action: UserAction.fromPartial({
      actionId: r.actionId,
      userId: r.userId,
      itemId: r.itemId,
      actionType: r.actionType,
      timestampMs: r.timestampMs,
      surface: r.surface,
      durationMs: r.durationMs,
    }),
    itemKnown: r.itemKnown,
    contentVector: Array.from(r.vector),
  });
}
