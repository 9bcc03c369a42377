import { MODEL_NAMES, type ModelName, type ModelSpec } from './model-definition';
import { pinnerformer, pinnerformerItem } from './pinnerformer';
import { rankingHeads, rankingHeadsLite } from './ranking-heads';
import { transactEncoder } from './transact-encoder';

const factories: Record<ModelName, (overrides?: Record<string, unknown>) => ModelSpec> = {
  pinnerformer,
  pinnerformer_item: pinnerformerItem,
  transact_encoder: transactEncoder,
  ranking_heads: rankingHeads,
  ranking_heads_lite: rankingHeadsLite,
};

/** Whether `name` is a model this library defines. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * The model `name` with `hyperparams` over its defaults. Thrown by: an
 * unknown name, or hyperparameters that are unknown or out of range.
 */
export function createModel(name: string, hyperparams: Record<string, unknown> = {}): ModelSpec {
  if (!isModelName(name)) throw new TypeError(`unknown model "${name}" (known: ${MODEL_NAMES.join(', ')})`);
  return factories[name](hyperparams);
}
