// `@pinrank/features/internal`: the steps buildSequence and SequenceTimeline are made of
// (options with defaults, ordering, filling a row), off the front page (src/index.ts).
export { fillSequence, newestFirst, resolveSequenceOptions, type ResolvedSequenceOptions } from './sequence-builder';
