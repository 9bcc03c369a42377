import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type ModelConfig } from '@pinrank/contracts';
import { checkSessionAgainstConfig, sessionSignature } from '@pinrank/inference';
import { type ModelSpec } from '../models/model-definition';
import { createModel } from '../models/model-registry';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../ops/onnx-ops';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { SeededRandom } from '../weights/seeded-random';
import { weightsFromOnnx } from '../weights/onnx-weights';
import { loadWeights } from '../weights/weight-file';
import { WeightStore } from '../weights/weight-store';

/** Default seed of the seeded initialisation. */
export const DEFAULT_SEED = 1;

/** Options of `buildModelRepositoryEntry`. */
export interface BuildModelEntryOptions {
  /** Repository root; the entry goes to `<repositoryDir>/<name>/<version>/`. */
  repositoryDir: string;
  /** Model name (one of MODEL_NAMES). */
  name: string;
  /** Version directory name, e.g. "1". */
  version: string;
  /** A weights file (see docs/models.md); when absent the weights come from `seed`. */
  weightsPath?: string;
  /**
   * An existing entry directory (`<repository>/<name>/<version>`) whose
   * model.onnx holds the weights: re-emits that version's exact weights in
   * the current graph form (a new version, same function). Its manifest's
   * weights record and hyperparameters carry over. Default none.
   */
  reemitFrom?: string;
  /** Seed of the initialisation when there is no weights file. Default `DEFAULT_SEED`. */
  seed?: number;
  /** Hyperparameter overrides for a seeded build (a weights file fixes its own). Default none. */
  hyperparams?: Record<string, unknown>;
  /** PinnerFormer version whose vectors the model's features came from. Default none. */
  pinnerformerVersion?: string;
  /** Replace an existing entry. Default false. */
  overwrite?: boolean;
}

/** One file of an entry, with its digest. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** `manifest.json`: what an entry holds and where its weights came from. */
export interface ModelManifest {
  format: 1;
  name: string;
  version: string;
  files: ManifestFile[];
  weights: { source: 'seeded'; seed: number } | { source: 'file'; file: string; sha256: string; provenance: Record<string, unknown> };
  hyperparams: Record<string, unknown>;
  parameterCount: number;
  onnx: { irVersion: number; opset: number };
  /** Set when the entry re-emits another version's model.onnx weights (`reemitFrom`). */
  reemittedFrom?: { version: string; modelSha256: string };
}

/** What `buildModelRepositoryEntry` wrote. */
export interface BuiltModelEntry {
  dir: string;
  config: ModelConfig;
  manifest: ModelManifest;
}

/**
 * Writes `<repositoryDir>/<name>/<version>/` with model.onnx, config.json and
 * manifest.json, after loading the model in ONNX Runtime, checking it against
 * its config and running it once on sample inputs. The directory appears
 * whole (written beside it, then renamed). Output is deterministic: the same
 * weights or seed give byte-identical files. Thrown by: an unknown model,
 * weights for another model or of the wrong shapes, hyperparameters given
 * with a weights file, an existing entry without `overwrite`, or a failed check.
 */
export async function buildModelRepositoryEntry(options: BuildModelEntryOptions): Promise<BuiltModelEntry> {
  const seed = options.seed ?? DEFAULT_SEED;
  if ((options.weightsPath || options.reemitFrom) && options.hyperparams)
    throw new TypeError('hyperparams cannot be combined with weights: the weights fix the architecture');
  if (options.weightsPath && options.reemitFrom) throw new TypeError('give a weights file or an entry to re-emit, not both');
  let spec: ModelSpec;
  let store: WeightStore;
  let weightsInfo: ModelManifest['weights'];
  let reemittedFrom: ModelManifest['reemittedFrom'];
  if (options.reemitFrom) {
    const source = await readEntryWeights(options.reemitFrom, options.name);
    const formKeys = createModel(options.name).graphFormHyperparams ?? [];
    spec = createModel(options.name, Object.fromEntries(Object.entries(source.manifest.hyperparams).filter(([k]) => !formKeys.includes(k))));
    store = source.store;
    weightsInfo = source.manifest.weights;
    reemittedFrom = { version: source.manifest.version, modelSha256: source.modelSha256 };
  } else if (options.weightsPath) {
    const file = await loadWeights(options.weightsPath);
    if (file.header.model !== options.name)
      throw new Error(`${options.weightsPath} holds weights of "${file.header.model}", not "${options.name}"`);
    spec = createModel(options.name, file.header.hyperparams);
    store = new WeightStore(file.tensors);
    weightsInfo = {
      source: 'file',
      file: basename(options.weightsPath),
      sha256: sha256(await readFile(options.weightsPath)),
      provenance: file.header.source,
    };
  } else {
    spec = createModel(options.name, options.hyperparams ?? {});
    store = WeightStore.seeded(seed);
    weightsInfo = { source: 'seeded', seed };
  }
  const model = exportOnnx(spec, store);
  const config = spec.config(options.version, options.pinnerformerVersion ? { pinnerformerVersion: options.pinnerformerVersion } : {});
  await verifyModel(spec, model, config);

  const configBytes = Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
  const manifest: ModelManifest = {
    format: 1,
    name: spec.name,
    version: options.version,
    files: [fileEntry('model.onnx', model), fileEntry('config.json', configBytes)],
    weights: weightsInfo,
    hyperparams: { ...spec.hyperparams },
    parameterCount: store.parameterCount(),
    onnx: { irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET },
    ...(reemittedFrom ? { reemittedFrom } : {}),
  };
  const dir = join(options.repositoryDir, spec.name, options.version);
  const staging = join(options.repositoryDir, spec.name, `.${options.version}.staging-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'model.onnx'), model);
  await writeFile(join(staging, 'config.json'), configBytes);
  await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (await exists(dir)) {
    if (!options.overwrite) {
      await rm(staging, { recursive: true, force: true });
      throw new Error(`${dir} already exists (pass overwrite to replace it)`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await rename(staging, dir);
  return { dir, config, manifest };
}

/** Loads the model in ONNX Runtime, checks it against its config, and runs it on sample inputs (finite outputs of the right batch size). */
export async function verifyModel(spec: ModelSpec, model: Uint8Array, config: ModelConfig): Promise<void> {
  const session = await createCpuSession(model);
  try {
    // Exact: this config is written from the model, so it must describe it completely.
    checkSessionAgainstConfig(sessionSignature(session), config, `${config.name}/${config.version}`, { exact: true });
    const batch = 3;
    const seqLen = Math.max(12, Number(spec.hyperparams['firstK'] ?? 0) + 2);
    const feeds = spec.sampleFeeds(new SeededRandom(7), { batch, users: 2, seqLen });
    const outputs = await runOnnx(session, feeds);
    for (const io of config.outputs) {
      const out = outputs[io.name];
      if (!out) throw new Error(`${spec.name}: sample run returned no "${io.name}"`);
      if (out.shape[0] !== batch) throw new Error(`${spec.name}: "${io.name}" has ${out.shape[0]} rows for a batch of ${batch}`);
      if (!out.data.every(Number.isFinite)) throw new Error(`${spec.name}: "${io.name}" is not finite on sample inputs`);
    }
  } finally {
    await session.release();
  }
}

/**
 * The weights of a built entry, read back from its model.onnx after checking
 * the file against its manifest. Thrown by: a missing or altered file, or an
 * entry of another model.
 */
async function readEntryWeights(dir: string, name: string): Promise<{ manifest: ModelManifest; store: WeightStore; modelSha256: string }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  if (manifest.name !== name) throw new Error(`${dir} holds "${manifest.name}", not "${name}"`);
  const bytes = await readFile(join(dir, 'model.onnx'));
  const digest = sha256(bytes);
  const listed = manifest.files.find((f) => f.path === 'model.onnx')?.sha256;
  if (digest !== listed) throw new Error(`${join(dir, 'model.onnx')} does not match its manifest (sha256 ${digest}, manifest ${listed ?? 'none'})`);
  return { manifest, store: weightsFromOnnx(bytes), modelSha256: digest };
}

/** Hex sha256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fileEntry(path: string, bytes: Uint8Array): ManifestFile {
  return { path, bytes: bytes.byteLength, sha256: sha256(bytes) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
