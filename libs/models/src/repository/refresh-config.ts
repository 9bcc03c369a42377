import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from '@pinrank/contracts';
import { createModel, isModelName } from '../models/model-registry';
import { sha256, verifyModel, type ModelManifest } from './build-entry';

/** What {@link refreshModelConfig} did to one entry. */
export interface RefreshedConfig {
  dir: string;
  /** Whether config.json (and the manifest's digest of it) changed. */
  changed: boolean;
  config: ModelConfig;
}

/**
 * Rewrites an entry's config.json from the current model definition, with
 * the hyperparameters its manifest records, keeping model.onnx and its
 * weights: how a config-format change (e.g. new request limits) reaches
 * versions whose weights file is not at hand. The model is checked against
 * the new config first; the manifest's digest of config.json is updated.
 * Thrown by: a manifest for an unknown model, a model.onnx that no longer
 * matches its manifest digest, or a model that fails the new config's check.
 */
export async function refreshModelConfig(dir: string): Promise<RefreshedConfig> {
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ModelManifest;
  if (!isModelName(manifest.name)) throw new Error(`${manifestPath}: unknown model "${manifest.name}"`);
  const model = await readFile(join(dir, 'model.onnx'));
  const onnxEntry = manifest.files.find((f) => f.path === 'model.onnx');
  if (!onnxEntry || onnxEntry.sha256 !== sha256(model)) throw new Error(`${dir}/model.onnx does not match the digest in its manifest`);
  const previous = await loadModelConfig(join(dir, 'config.json'));
  const spec = createModel(manifest.name, manifest.hyperparams);
  const config = spec.config(manifest.version, previous.pinnerformerVersion ? { pinnerformerVersion: previous.pinnerformerVersion } : {});
  await verifyModel(spec, model, config);
  const bytes = Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
  const configEntry = manifest.files.find((f) => f.path === 'config.json');
  const digest = sha256(bytes);
  if (configEntry?.sha256 === digest) return { dir, changed: false, config };
  const files = manifest.files.map((f) => (f.path === 'config.json' ? { path: f.path, bytes: bytes.byteLength, sha256: digest } : f));
  // Each file is replaced whole (written beside it, then renamed), so a reader never sees half a file.
  await replaceFile(join(dir, 'config.json'), bytes);
  await replaceFile(manifestPath, `${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
  return { dir, changed: true, config };
}

async function replaceFile(path: string, content: string | Uint8Array): Promise<void> {
  const staging = `${path}.staging-${process.pid}`;
  await writeFile(staging, content);
  await rename(staging, path);
}
