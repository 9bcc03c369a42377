// Serializers for the feature-server's sequence answers that write each
// tensor's raw bytes once, into a buffer of the final size. A 100-action
// sequence carries about 14 KB of raw tensor bytes; the generated encoder
// copies them into its growing buffer, grows it (copying again), and joins
// the nested messages' chunks. Same fields on the wire, the raw bytes simply
// written after a tensor's other fields (protobuf lets fields come in any
// order), so every decoder reads the same message.
import { FeatureServerService, type GetRealtimeSequencesResponse, RealtimeSequence, SequenceLookupResult } from './gen/index';
import { bytesOf, delimited, EMPTY, type Frame, frame, tensorFrame } from './raw-frames';

const SEQUENCE_TENSORS = [
  ['actionTypes', delimited(4)],
  ['itemVectors', delimited(5)],
  ['agesS', delimited(6)],
] as const;
const LOOKUP_SEQUENCE = delimited(3);
const RESPONSE_SEQUENCES = delimited(1);

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

