// `@pinrank/models/internal`: what models are written with, off the front page
// (src/index.ts): the ONNX graph emitter behind the op interface, the blocks (basic layers,
// attention, transformer, DCN) and the helpers a model's spec is built from.
export { CONTRIB_DOMAIN, ONNX_IR_VERSION, ONNX_OPSET, OnnxGraphBuilder, type OnnxIoSpec, type OnnxValue } from './ops/onnx-ops';
export { type Activation, activate, cosine, embedding, gelu, l2Normalize, layerNorm, linear, mlp } from './blocks/basic';
export {
  MASK_NEGATIVE,
  attentionFromQkv,
  causalBiasNewestFirst,
  keyMaskBias,
  multiHeadAttention,
  qkvProjection,
  type AttentionOptions,
} from './blocks/attention';
export { postNormBlock, preNormBlock, type TransformerBlockOptions } from './blocks/transformer';
export { crossLayer, crossNetwork } from './blocks/dcn';
export { buildConfig, floatFeed, int64Feed, sampleSequences } from './models/model-definition';
