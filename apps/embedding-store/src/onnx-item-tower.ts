import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import * as ort from 'onnxruntime-node';
import { type Logger } from 'pino';
import { type ItemTowerFn, type ItemTowerProvider } from './item-tower';

/**
 * Item-tower functions backed by ONNX Runtime sessions over
 * `<modelRoot>/<modelName>/<version>/model.onnx` (tensor names from the
 * config.json beside it). A version without a model file yields undefined, so
 * its missing items stay unknown. Sessions are opened once per version.
 */
export function onnxItemTowerProvider(modelRoot: string, logger?: Logger, modelName = 'pinnerformer_item'): ItemTowerProvider {
  const sessions = new Map<string, Promise<ItemTowerFn | undefined>>();
  return (version) => {
    let tower = sessions.get(version);
    if (!tower) {
      tower = openTower(join(modelRoot, modelName, version), logger);
      sessions.set(version, tower);
      // A failed open is retried on a later call rather than cached.
      tower.catch(() => sessions.delete(version));
    }
    return tower;
  };
}

async function openTower(dir: string, logger?: Logger): Promise<ItemTowerFn | undefined> {
  const modelPath = join(dir, 'model.onnx');
  if (!existsSync(modelPath)) {
    logger?.info({ modelPath }, 'no item-tower model for this version; new items stay unknown');
    return undefined;
  }
  const configPath = join(dir, 'config.json');
  const config = existsSync(configPath) ? await loadModelConfig(configPath) : undefined;
  const input = config?.inputs[0]?.name ?? 'item_vectors';
  const output = config?.outputs[0]?.name ?? 'item_embedding';
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  logger?.info({ modelPath, input, output }, 'item-tower model loaded');
  return async (content) => {
    if (content.length === 0) return [];
    const width = content[0]?.length ?? 0;
    const flat = new Float32Array(content.length * width);
    content.forEach((v, i) => flat.set(v, i * width));
    const result = await session.run({ [input]: new ort.Tensor('float32', flat, [content.length, width]) });
    const tensor = result[output];
    if (!tensor) throw new Error(`item-tower model has no output "${output}"`);
    const data = tensor.data as Float32Array;
    const d = data.length / content.length;
    return content.map((_, i) => data.slice(i * d, (i + 1) * d));
  };
}
