// Serializers for the feature-server's sequence answers that write each
// tensor's raw bytes once, into a buffer of the final size. A 100-action
// sequence carries about 14 KB of raw tensor bytes; the generated encoder
// copies them into its growing buffer, grows it (copying again), and joins
// the nested messages' chunks. Same fields on the wire, the raw bytes simply
// written after a tensor's other fields (protobuf lets fields come in any
// order), so every decoder reads the same message.
import {
  FeatureServerService,
  type GetRealtimeSequencesResponse,
  RealtimeSequence,
  SequenceLookupResult,
  Tensor,
} from './gen/index';

/** Tag byte of a length-delimited field (field numbers below 16 only: one byte). */
const delimited = (field: number): number => {
  if (field < 1 || field > 15) throw new RangeError(`field ${field}: only fields 1-15 have a one-byte tag`);
  return (field << 3) | 2;
};

const TENSOR_RAW = delimited(7);
const SEQUENCE_TENSORS = [
  ['actionTypes', delimited(4)],
  ['itemVectors', delimited(5)],
  ['agesS', delimited(6)],
] as const;
const LOOKUP_SEQUENCE = delimited(3);
const RESPONSE_SEQUENCES = delimited(1);
const EMPTY = new Uint8Array(0);
const NO_RAW = Buffer.alloc(0);

/** A message still to be written: its encoded head, then length-delimited fields holding raw bytes or other such messages. */
interface Frame {
  readonly head: Uint8Array;
  readonly fields: ReadonlyArray<{ readonly tag: number; readonly body: Uint8Array | Frame; readonly bodySize: number }>;
  readonly size: number;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function frame(head: Uint8Array, bodies: ReadonlyArray<readonly [number, Uint8Array | Frame]>): Frame {
  let size = head.byteLength;
  const fields = bodies.map(([tag, body]) => {
    const bodySize = body instanceof Uint8Array ? body.byteLength : body.size;
    size += 1 + varintSize(bodySize) + bodySize;
    return { tag, body, bodySize };
  });
  return { head, fields, size };
}

function write(f: Frame, out: Buffer, at: number): number {
  out.set(f.head, at);
  at += f.head.byteLength;
  for (const { tag, body, bodySize } of f.fields) {
    out[at++] = tag;
    let n = bodySize;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[at++] = n;
    if (body instanceof Uint8Array) {
      out.set(body, at);
      at += bodySize;
    } else at = write(body, out, at);
  }
  return at;
}

function bytesOf(f: Frame): Buffer {
  const out = Buffer.allocUnsafe(f.size);
  const end = write(f, out, 0);
  if (end !== f.size) throw new Error(`sequence serializer: wrote ${end} bytes of ${f.size}`);
  return out;
}

function tensorFrame(t: Tensor): Frame {
  if (t.raw.byteLength === 0) return frame(Tensor.encode(t).finish(), []);
  return frame(Tensor.encode({ ...t, raw: NO_RAW }).finish(), [[TENSOR_RAW, t.raw]]);
}

function sequenceFrame(s: RealtimeSequence): Frame {
  const head = RealtimeSequence.encode({ ...s, actionTypes: undefined, itemVectors: undefined, agesS: undefined }).finish();
  const tensors: Array<[number, Frame]> = [];
  for (const [key, tag] of SEQUENCE_TENSORS) {
    const t = s[key];
    if (t !== undefined) tensors.push([tag, tensorFrame(t)]);
  }
  return frame(head, tensors);
}

/** A RealtimeSequence as bytes, each tensor's raw bytes copied once. */
export function serializeRealtimeSequence(value: RealtimeSequence): Buffer {
  return bytesOf(sequenceFrame(value));
}

/** A SequenceLookupResult as bytes, the sequence's raw tensor bytes copied once. */
export function serializeSequenceLookupResult(value: SequenceLookupResult): Buffer {
  const head = SequenceLookupResult.encode({ ...value, sequence: undefined }).finish();
  return bytesOf(frame(head, value.sequence ? [[LOOKUP_SEQUENCE, sequenceFrame(value.sequence)]] : []));
}

/** A GetRealtimeSequencesResponse as bytes, every sequence's raw tensor bytes copied once. */
export function serializeGetRealtimeSequencesResponse(value: GetRealtimeSequencesResponse): Buffer {
  return bytesOf(frame(EMPTY, value.sequences.map((s) => [RESPONSE_SEQUENCES, sequenceFrame(s)] as const)));
}

/** FeatureServerService with the single-copy sequence serializers (servers register this one). */
export const FeatureServerServiceRaw: typeof FeatureServerService = {
  ...FeatureServerService,
  getRealtimeSequence: { ...FeatureServerService.getRealtimeSequence, responseSerialize: serializeRealtimeSequence },
  getRealtimeSequences: { ...FeatureServerService.getRealtimeSequences, responseSerialize: serializeGetRealtimeSequencesResponse },
  streamRealtimeSequences: { ...FeatureServerService.streamRealtimeSequences, responseSerialize: serializeSequenceLookupResult },
};

