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
export { SequenceWriter, type SequenceShape } from './sequence-writer';
export { SequenceTimeline } from './sequence-timeline';
export { stackSequences, type StackedSequences } from './stack-sequences';
export {
  DENSE_FEATURES,
  DENSE_FEATURE_NAMES,
  SEQUENCE_FILL_SCALE,
  denseFeatureRows,
  denseUserColumns,
  writeDenseRows,
  type DenseSequenceView,
  type DenseUserColumns,
} from './dense-features';
