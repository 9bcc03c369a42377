import { ContractError } from '@pinrank/contracts';
import { z } from 'zod';

/**
 * The action log: a compact, streamable file of actions sorted by time.
 * Layout (little-endian; docs/simulator.md has the full schema):
 *
 *   "PRACTLOG" | u32 header length | header JSON (UTF-8)
 *   blocks: u32 payload bytes (> 0) | u32 record count | f64 base timestamp ms | payload
 *     record: varint Δt ms (from the previous record, the first from the base)
 *             varint user index | varint item index | u8 actionType | surface << 4 | varint duration ms
 *   end: u32 0 | f64 total record count | sha256 of every byte before the end marker
 *
 * The whole file may be gzip-compressed; the checksum covers the uncompressed bytes.
 */
export const ACTION_LOG_MAGIC = Buffer.from('PRACTLOG', 'ascii');
/** Largest accepted JSON header. */
export const MAX_ACTION_LOG_HEADER_BYTES = 1 << 20;
/** Largest accepted block payload. */
export const MAX_BLOCK_BYTES = 1 << 26;
/** Highest proto ActionType number a record may carry. */
export const MAX_ACTION_TYPE = 5;
/** Highest proto Surface number a record may carry. */
export const MAX_SURFACE = 4;

const headerSchema = z
  .object({
    format: z.literal(1, { error: 'must be 1 (the only format version)' }),
    producer: z.string().min(1),
    seed: z.number().int().min(0),
    users: z.number().int().min(1),
    items: z.number().int().min(1),
    startMs: z.number().int().min(0),
    endMs: z.number().int().min(0),
    actionIdPrefix: z.string().min(1).max(64),
    params: z.record(z.string(), z.unknown()),
  })
  .strict();

/** The JSON header of an action log: who made it, id ranges, time range and generation parameters. */
export type ActionLogHeader = z.infer<typeof headerSchema>;

/** Validates a header object. Thrown by: any bad field (ContractError naming it). */
export function parseActionLogHeader(json: unknown, source: string): ActionLogHeader {
  const result = headerSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || 'header';
    throw new ContractError(`header.${field}: ${issue?.message ?? 'invalid'}`, source, field);
  }
  if (result.data.endMs < result.data.startMs) throw new ContractError('header.endMs: must be >= startMs', source, 'endMs');
  return result.data;
}

/** One action as stored: ids as indices. */
export interface ActionLogRecord {
  /** User index (id `u<n>`). */
  userIndex: number;
  /** Item index (id `i<n>`). */
  itemIndex: number;
  /** Proto ActionType number (1 impression, 2 click, 3 save, 4 close-up, 5 hide). */
  actionType: number;
  /** Proto Surface number. */
  surface: number;
  /** Epoch milliseconds. */
  timestampMs: number;
  /** Dwell in milliseconds (0 when none). */
  durationMs: number;
}

/** A block of records in columns, as the fast reader hands them out. */
export interface ActionBatch {
  /** Position of the first record of the batch in the log. */
  readonly firstIndex: number;
  /** Number of records. */
  readonly length: number;
  readonly timestampMs: Float64Array;
  readonly userIndex: Uint32Array;
  readonly itemIndex: Uint32Array;
  readonly actionType: Uint8Array;
  readonly surface: Uint8Array;
  readonly durationMs: Uint32Array;
}

/** One action with string ids, field-compatible with the proto `UserAction`. */
export interface ActionRecord extends UserActionFields {
  /** `<actionIdPrefix><position in the log>`: unique within the log. */
  actionId: string;
  /** User index (the number in `userId`). */
  userIndex: number;
  /** Item index (the number in `itemId`). */
  itemIndex: number;
}

/** Appends `value` (a non-negative safe integer) as an unsigned LEB128 varint; returns the new offset. */
export function writeVarint(buf: Buffer, offset: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buf[offset++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[offset++] = v;
  return offset;
}

/** The proto `UserAction` fields of a record (pass to `UserAction.fromPartial`). */
export interface UserActionFields {
  actionId: string;
  userId: string;
  itemId: string;
  actionType: number;
  timestampMs: number;
  surface: number;
  durationMs: number;
}

/** Strips a record down to the proto `UserAction` fields (the shape feature-server ingests). */
export function userActionFields(rec: ActionRecord): UserActionFields {
  return {
    actionId: rec.actionId,
    userId: rec.userId,
    itemId: rec.itemId,
    actionType: rec.actionType,
    timestampMs: rec.timestampMs,
    surface: rec.surface,
    durationMs: rec.durationMs,
  };
}
