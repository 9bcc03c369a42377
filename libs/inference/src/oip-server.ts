import {
  GRPCInferenceServiceRaw,
  type ModelMetadataResponse_TensorMetadata,
} from '@pinrank/proto';
import { PinrankError, defineService, type CallRuntime, type ServiceRegistration } from '@pinrank/service-kit';
import { type TensorSpec } from '@pinrank/contracts';
import { OIP_DATATYPES } from './host-tensor';
import { inferCall, type InferDeps } from './infer-call';
import { type InferenceMetrics } from './inference-metrics';
import { type ModelRepositoryManager } from './model-repository-manager';
import { type VersionPolicy } from './model-repository';
import { RejectionLog } from './rejection-log';
import { checkModelName, checkVersion, repositoryTarget } from './request-checks';
import { streamInfer } from './stream-infer';
import { tritonModelConfig } from './triton-model-config';

/** Options of {@link inferenceService}. */
export interface InferenceServiceOptions {
  /** What is served: RepositoryModelLoad/Unload go to it, everything else to its lifecycle. */
  repositoryManager: ModelRepositoryManager;
  /** The metrics the manager records into; ModelStatistics reads their statistics. */
  metrics?: InferenceMetrics;
  /** The version policy of a model (ModelConfig's version_policy); default the newest one. */
  versionPolicy?: (model: string) => VersionPolicy;
  /** ServerMetadata name; default "pinrank-inference". */
  serverName?: string;
  /** ServerMetadata version; default "0.1.0". */
  serverVersion?: string;
  /** ServerReady answer; default always true. */
  isReady?: () => boolean;
}

/** The `platform` reported in ModelMetadata: the runtime, then the execution provider in use. */
export function platformWithProvider(provider: string): string {
  return `onnxruntime_onnx/${provider}`;
}

const tensorMetadata = (t: TensorSpec): ModelMetadataResponse_TensorMetadata => ({
  name: t.name,
  datatype: OIP_DATATYPES[t.dtype],
  shape: [...t.shape],
});

/**
 * The Open Inference Protocol (KServe v2 gRPC, package `inference`) served
 * from a model repository manager: health, metadata, ModelInfer and ModelStreamInfer,
 * Triton's ModelConfig and ModelStatistics, and the model-repository
 * extension in Triton's and KServe's forms. RepositoryModelLoad/Unload are
 * admin methods.
 */
export function inferenceService(options: InferenceServiceOptions): ServiceRegistration {
  const { repositoryManager, metrics } = options;
  const { lifecycle } = repositoryManager;
  const isReady = options.isReady ?? (() => true);
  const policyOf = options.versionPolicy ?? ((): VersionPolicy => ({ latest: 1 }));
  const deps: InferDeps = { lifecycle, metrics, rejections: new RejectionLog() };
  return defineService(
    GRPCInferenceServiceRaw,
    {
      serverLive: async () => ({ live: true }),
      serverReady: async () => ({ ready: isReady() }),
      serverMetadata: async () => ({
        name: options.serverName ?? 'pinrank-inference',
        version: options.serverVersion ?? '0.1.0',
        extensions: ['model_repository', 'model_configuration', 'statistics'],
      }),
      modelReady: async (req, ctx) => {
        const name = checkModelName(req.name, 'name');
        try {
          lifecycle.ready(name, checkVersion(req.version, 'version'));
          ctx.labelModel(name);
          return { ready: true };
        } catch (err) {
          if (err instanceof PinrankError && (err.code === 'NOT_FOUND' || err.code === 'UNAVAILABLE')) return { ready: false };
          throw err;
        }
      },
      modelMetadata: async (req, ctx) => {
        const name = checkModelName(req.name, 'name');
        const { instance } = lifecycle.ready(name, checkVersion(req.version, 'version'));
        ctx.labelModel(name);
        return {
          name,
          versions: lifecycle.readyVersions(name),
          platform: platformWithProvider(instance.provider),
          inputs: instance.config.inputs.map(tensorMetadata),
          outputs: instance.config.outputs.map(tensorMetadata),
        };
      },
      modelInfer: async (req, ctx) => {
        const { response, model } = await inferCall(deps, req, ctx);
        ctx.labelModel(model);
        return response;
      },
      modelStreamInfer: (requests, ctx, runtime?: CallRuntime) => streamInfer(deps, requests, ctx, runtime),
      modelConfig: async (req, ctx) => {
        const name = checkModelName(req.name, 'name');
        const { instance } = lifecycle.ready(name, checkVersion(req.version, 'version'));
        ctx.labelModel(name);
        return {
          config: tritonModelConfig({ config: instance.config, limits: instance.scheduler.limits, provider: instance.provider, versionPolicy: policyOf(name) }),
        };
      },
      modelStatistics: async (req, ctx) => {
        if (!metrics) throw new PinrankError('FAILED_PRECONDITION', 'this server records no statistics (started without inference metrics)');
        const name = req.name ? checkModelName(req.name, 'name') : '';
        const version = checkVersion(req.version, 'version');
        if (version && !name) throw new PinrankError('INVALID_ARGUMENT', 'version is set but name is empty; name the model too');
        // Versions this worker serves or is changing; UNAVAILABLE ones (another pool's placement, failed loads) have nothing to report.
        const rows = lifecycle.index().filter((m) => m.state !== 'UNAVAILABLE' && (!name || m.name === name) && (!version || m.version === version));
        if (name && rows.length === 0) throw new PinrankError('NOT_FOUND', `model "${name}"${version ? ` version "${version}"` : ''} is not served here`);
        if (name) ctx.labelModel(name);
        return { modelStats: rows.map((m) => metrics.statistics.snapshot(m.name, m.version)) };
      },
      repositoryIndex: async (req) => ({
        models: lifecycle
          .index()
          .filter((m) => !req.ready || m.state === 'READY')
          .map((m) => ({ name: m.name, version: m.version, state: m.state, reason: m.reason })),
      }),
      repositoryModelLoad: async (req, ctx) => {
        const { model } = repositoryTarget(req);
        await repositoryManager.load(model);
        ctx.labelModel(model);
        return { modelName: model, isLoaded: true };
      },
      repositoryModelUnload: async (req, ctx) => {
        // tritonclient sends unload_dependents on every unload; there are no ensembles here, so it changes nothing.
        const { model } = repositoryTarget(req, ['unload_dependents']);
        await repositoryManager.unload(model);
        ctx.labelModel(model);
        return { modelName: model, isUnloaded: true };
      },
    },
    { adminMethods: ['repositoryModelLoad', 'repositoryModelUnload'] },
  );
}
