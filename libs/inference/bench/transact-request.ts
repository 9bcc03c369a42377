// The ModelInfer request the router sends transact_encoder for one user, shared by the worker benchmarks.
import { ModelInferRequest } from '@pinrank/proto';
import { seededFloats } from '../src/testing/tiny-models';

/** Actions in the user's sequence. */
export const SEQUENCE_LENGTH = 100;
/** Width of the content vectors (sequence items and candidates). */
export const CONTENT_WIDTH = 32;

const raw = (a: Float32Array | BigInt64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** One user with a full sequence of SEQUENCE_LENGTH actions and `candidates` candidates; `seed` varies the values. */
export function transactRequest(candidates: number, seed: number): ModelInferRequest {
  const s = SEQUENCE_LENGTH;
  const d = CONTENT_WIDTH;
  const types = new BigInt64Array(s).map((_, i) => BigInt(1 + ((seed + i) % 4)));
  const ages = Float32Array.from({ length: s }, (_, i) => 30 * (i + 1));
  return ModelInferRequest.fromPartial({
    modelName: 'transact_encoder',
    inputs: [
      { name: 'seq_action_types', datatype: 'INT64', shape: [1, s] },
      { name: 'seq_item_vectors', datatype: 'FP32', shape: [1, s, d] },
      { name: 'seq_ages_s', datatype: 'FP32', shape: [1, s] },
      { name: 'cand_vectors', datatype: 'FP32', shape: [candidates, d] },
      { name: 'cand_user_idx', datatype: 'INT64', shape: [candidates] },
    ],
    rawInputContents: [raw(types), raw(seededFloats(s * d, seed)), raw(ages), raw(seededFloats(candidates * d, seed + 1)), raw(new BigInt64Array(candidates))],
  });
}
