import {
  GRPCInferenceServiceService,
  ModelInferResponse,
  type ModelInferRequest,
  type ModelMetadataRequest,
  type ModelMetadataResponse_TensorMetadata,
  type ModelReadyRequest,
  type RepositoryIndexRequest,
  type RepositoryModelLoadRequest,
  type RepositoryModelUnloadRequest,
} from '@pinrank/proto';
import { PinrankError, defineService, type CallContext, type ServiceRegistration } from '@pinrank/service-kit';
import { type TensorSpec } from '@pinrank/contracts';
import { OIP_DATATYPES } from './host-tensor';
import { checkInferEnvelope, checkModelRef } from './infer-request-edge';
import { type ModelLifecycle } from './model-lifecycle';
import { type ModelRepositoryManager } from './model-repository-manager';
import { decodeInferInputs, encodeInferOutputs } from './tensor-codec';

/** Options of {@link inferenceService}. */
export interface InferenceServiceOptions {
  /** What is served: RepositoryModelLoad/Unload go to it, everything else to its lifecycle. */
  repositoryManager: ModelRepositoryManager;
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

// The execution provider of a served version ("unknown" once it has been unloaded).
function servedProvider(lifecycle: ModelLifecycle, name: string, version: string): string {
  try {
    return lifecycle.ready(name, version).instance.provider;
  } catch {
    return 'unknown';
  }
}

/**
 * The Open Inference Protocol (KServe v2 gRPC, package `inference`) served
 * from a model repository manager: health, metadata, ModelInfer and the model-repository
 * extension. RepositoryModelLoad/Unload are admin methods.
 */
export function inferenceService(options: InferenceServiceOptions): ServiceRegistration {
  const { repositoryManager } = options;
  const { lifecycle } = repositoryManager;
  const isReady = options.isReady ?? (() => true);
  return defineService(
    GRPCInferenceServiceService,
    {
      serverLive: async () => ({ live: true }),
      serverReady: async () => ({ ready: isReady() }),
      serverMetadata: async () => ({
        name: options.serverName ?? 'pinrank-inference',
        version: options.serverVersion ?? '0.1.0',
        extensions: ['model_repository'],
      }),
      modelReady: async (req: ModelReadyRequest) => {
        checkModelRef(req.name, req.version, 'name');
        try {
          lifecycle.ready(req.name, req.version);
          return { ready: true };
        } catch (err) {
          if (err instanceof PinrankError && (err.code === 'NOT_FOUND' || err.code === 'UNAVAILABLE')) return { ready: false };
          throw err;
        }
      },
      modelMetadata: async (req: ModelMetadataRequest) => {
        checkModelRef(req.name, req.version, 'name');
        const { instance } = lifecycle.ready(req.name, req.version);
        return {
          name: req.name,
          versions: lifecycle.readyVersions(req.name),
          platform: platformWithProvider(instance.provider),
          inputs: instance.config.inputs.map(tensorMetadata),
          outputs: instance.config.outputs.map(tensorMetadata),
        };
      },
      modelInfer: async (req: ModelInferRequest, ctx: CallContext) => {
        checkInferEnvelope(req);
        const { inputs, raw } = decodeInferInputs(req);
        const result = await lifecycle
          .infer(req.modelName, req.modelVersion, inputs, req.outputs.map((o) => o.name), { deadline: ctx.deadline?.getTime(), signal: ctx.signal })
          .catch((err: unknown) => {
            // The runtime's own words (node names, internal state) stay in the log, with the trace id.
            if (err instanceof PinrankError && err.cause instanceof Error) ctx.logger.warn({ model: req.modelName, code: err.code, cause: err.cause.message }, 'inference failed');
            throw err;
          });
        ctx.span.setAttributes({
          'pinrank.model.name': req.modelName,
          'pinrank.model.version': result.version,
          'pinrank.execution_provider': servedProvider(lifecycle, req.modelName, result.version),
        });
        const encoded = encodeInferOutputs(result.outputs, raw);
        return ModelInferResponse.fromPartial({
          modelName: req.modelName,
          modelVersion: result.version,
          id: req.id,
          outputs: encoded.outputs,
          rawOutputContents: encoded.rawOutputContents,
        });
      },
      repositoryIndex: async (req: RepositoryIndexRequest) => ({
        models: lifecycle
          .index()
          .filter((m) => !req.ready || m.state === 'READY')
          .map((m) => ({ name: m.name, version: m.version, state: m.state, reason: m.reason })),
      }),
      repositoryModelLoad: async (req: RepositoryModelLoadRequest) => {
        checkModelRef(req.modelName, '');
        await repositoryManager.load(req.modelName);
        return {};
      },
      repositoryModelUnload: async (req: RepositoryModelUnloadRequest) => {
        checkModelRef(req.modelName, '');
        await repositoryManager.unload(req.modelName);
        return {};
      },
    },
    { adminMethods: ['repositoryModelLoad', 'repositoryModelUnload'] },
  );
}
