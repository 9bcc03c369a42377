import { z } from 'zod';
import { parseWith } from './schema-errors';

/**
 * Vector files hold embedding snapshots (kind `user` or `item_tower`) and the
 * item catalog (kind `item_content`). Layout (all little-endian), see docs/formats.md:
 *
 *   "PRVEC\0" 0x01 0x00 | u32 header length | header JSON (UTF-8)
 *   count × ( u16 id length | id (UTF-8) | (dimension + extraFields.length) × f32 )
 *   "PRVECEND" | sha256 of every byte before the trailer
 */
export const VECTOR_FILE_MAGIC = Buffer.from([0x50, 0x52, 0x56, 0x45, 0x43, 0x00, 0x01, 0x00]);
/** Marks the start of the trailer. */
export const VECTOR_FILE_TRAILER = Buffer.from('PRVECEND', 'ascii');
/** Longest item or user id in bytes. */
export const MAX_ID_BYTES = 1024;
/** Largest accepted JSON header. */
export const MAX_HEADER_BYTES = 1 << 20;

/** What a vector file holds. */
export const VECTOR_FILE_KINDS = ['user', 'item_tower', 'item_content'] as const;
/** What a vector file holds. */
export type VectorFileKind = (typeof VECTOR_FILE_KINDS)[number];

const headerSchema = z
  .object({
    format: z.literal(1, { error: 'must be 1 (the only format version)' }),
    kind: z.enum(VECTOR_FILE_KINDS, { error: `must be one of ${VECTOR_FILE_KINDS.join(', ')}` }),
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
    dimension: z.number().int().min(1, 'must be an integer >= 1').max(4096, 'must be <= 4096'),
    dtype: z.literal('float32', { error: 'must be "float32"' }),
    count: z.number().int().min(0, 'must be an integer >= 0'),
    producerModel: z.string().min(1, 'must name the producing model (or "catalog")'),
    producerModelVersion: z.string().min(1, 'must not be empty'),
    asOfDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
    baseVersion: z.string().min(1).nullable(),
    createdAtMs: z.number().int().min(0),
    extraFields: z.array(z.string().min(1)).max(64).default([]),
  })
  .strict();

/** The JSON header of a vector file. */
export type VectorFileHeader = z.infer<typeof headerSchema>;
/** What a writer needs to know up front (format and dtype are fixed). */
export type VectorFileHeaderInput = Omit<VectorFileHeader, 'format' | 'dtype' | 'extraFields' | 'baseVersion'> & {
  extraFields?: string[];
  baseVersion?: string | null;
};

/** Validates a header object, throwing a ContractError naming the field. */
export function parseVectorFileHeader(json: unknown, source: string): VectorFileHeader {
  return parseWith(headerSchema, json, source);
}

/** One record of a vector file. */
export interface VectorRecord {
  /** User or item id. */
  id: string;
  /** The vector (`header.dimension` values). */
  vector: Float32Array;
  /** Values of `header.extraFields`, in that order (empty when none). */
  extra: Float32Array;
}
