// The one sequence builder, for serving and training; its building blocks are on `@pinrank/features/internal`.
export {
  CONTENT_DIMENSION,
  DEFAULT_SEQUENCE_LENGTH,
  DEFAULT_SEQUENCE_TYPES,
  MAX_SEQUENCE_LENGTH,
  PADDING_ACTION_TYPE,
  PADDING_AGE_S,
  type BuiltSequence,
  type SequenceAction,
  type SequenceOptions,
} from './sequence-types';
export { buildSequence } from './sequence-builder';
export { SequenceTimeline } from './sequence-timeline';
export { stackSequences, type StackedSequences } from './stack-sequences';
