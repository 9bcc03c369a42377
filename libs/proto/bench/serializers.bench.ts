// The single-copy serializers (src/raw-frames.ts and its users) against the
// generated encoders, on the answers they are registered for, at the sizes
// served: CPU time per message in this process, the two forms alternating in
// blocks, the bytes checked to decode alike. What each message is:
// - ModelStreamInferResponse: a worker's streamed answer with the encoder output
//   of 500 candidates (FP32 [500, 1056], 2.1 MB) — the split placement's hop;
// - SequenceLookupResult: a 100-action sequence (S 100, D 32, about 14 KB);
// - EmbeddingsLookupResult: 500 item vectors of d 64 (128 KB).
//   npm run bench proto-serializers [-- --rounds 10 --smoke]
import { parseArgs } from 'node:util';
import {
  DataType,
  EmbeddingsLookupResult,
  EmbeddingStoreService,
  FeatureServerService,
  GRPCInferenceServiceService,
  ModelStreamInferResponse,
  RealtimeSequence,
  SequenceLookupResult,
  serializeEmbeddingsLookupResult,
  serializeModelStreamInferResponse,
  serializeSequenceLookupResult,
} from '../src/index';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, smoke: { type: 'boolean', default: false } } });
const ROUNDS = args.smoke ? 2 : Number(args.rounds);
/** Messages per block: about 20 ms of work per block for each message size. */
const BLOCK = (bytes: number): number => (args.smoke ? 5 : Math.max(20, Math.round(40_000_000 / bytes)));

const filled = (n: number): Buffer => Buffer.from(Float32Array.from({ length: n / 4 }, (_, i) => (i % 97) / 97).buffer);

const inferAnswer = ModelStreamInferResponse.fromPartial({
  errorMessage: '',
  inferResponse: { modelName: 'transact_encoder', modelVersion: '4', id: 'r1', outputs: [{ name: 'user_candidate_embedding', datatype: 'FP32', shape: [500, 1056] }], rawOutputContents: [filled(500 * 1056 * 4)] },
});
const sequence = RealtimeSequence.fromPartial({
  userId: 'bench-user',
  length: 100,
  asOfMs: 1_765_000_000_000,
  actionTypes: { dtype: DataType.DATA_TYPE_INT64, shape: [1, 100], raw: filled(100 * 8) },
  itemVectors: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 100, 32], raw: filled(100 * 32 * 4) },
  agesS: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 100], raw: filled(100 * 4) },
});
const embeddings = EmbeddingsLookupResult.fromPartial({
  requestId: 7,
  status: { code: 0, message: '' },
  response: {
    snapshotVersion: 'v3',
    producerModelVersion: 'pinnerformer-2',
    userFound: true,
    userVector: Array.from({ length: 64 }, (_, i) => i / 64),
    itemIds: Array.from({ length: 500 }, (_, i) => `item-${i}`),
    itemVectors: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [500, 64], raw: filled(500 * 64 * 4) },
  },
});

interface Case {
  name: string;
  generated: () => Uint8Array;
  singleCopy: () => Uint8Array;
  decode: (b: Uint8Array) => unknown;
}
const cases: Case[] = [
  {
    name: 'ModelStreamInferResponse, FP32 [500, 1056]',
    generated: () => GRPCInferenceServiceService.modelStreamInfer.responseSerialize(inferAnswer),
    singleCopy: () => serializeModelStreamInferResponse(inferAnswer),
    decode: (b) => ModelStreamInferResponse.decode(b),
  },
  {
    name: 'SequenceLookupResult, S 100, D 32',
    generated: () => FeatureServerService.streamRealtimeSequences.responseSerialize({ requestId: 1, status: { code: 0, message: '' }, sequence }),
    singleCopy: () => serializeSequenceLookupResult({ requestId: 1, status: { code: 0, message: '' }, sequence }),
    decode: (b) => SequenceLookupResult.decode(b),
  },
  {
    name: 'EmbeddingsLookupResult, 500 × d 64',
    generated: () => EmbeddingStoreService.streamEmbeddings.responseSerialize(embeddings),
    singleCopy: () => serializeEmbeddingsLookupResult(embeddings),
    decode: (b) => EmbeddingsLookupResult.decode(b),
  },
];

/** CPU µs per message of `f`, `n` messages per block. */
function block(f: () => Uint8Array, n: number): number {
  let bytes = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) bytes += f().byteLength;
  const c = process.cpuUsage(c0);
  if (bytes === 0) throw new Error('bench: nothing encoded');
  return c.user + c.system;
}

const out: string[] = [
  `single-copy serializers vs the generated encoders: CPU per message in one process, ${ROUNDS} rounds of alternating blocks; node ${process.version}`,
  '',
  '| message | bytes | generated µs | single-copy µs | single-copy ÷ generated |',
  '|---|---:|---:|---:|---:|',
];
for (const c of cases) {
  const g = c.generated();
  const s = c.singleCopy();
  if (g.byteLength !== s.byteLength || JSON.stringify(c.decode(g)) !== JSON.stringify(c.decode(s))) throw new Error(`bench: ${c.name}: the two forms differ`);
  const n = BLOCK(s.byteLength);
  block(c.generated, n); // warm-up
  block(c.singleCopy, n);
  let gen = 0;
  let one = 0;
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      gen += block(c.generated, n);
      one += block(c.singleCopy, n);
    } else {
      one += block(c.singleCopy, n);
      gen += block(c.generated, n);
    }
  }
  const per = ROUNDS * n;
  out.push(`| ${c.name} | ${s.byteLength} | ${(gen / per).toFixed(1)} | ${(one / per).toFixed(1)} | ${(one / gen).toFixed(2)}× |`);
}
process.stdout.write(`${out.join('\n')}\n`);
