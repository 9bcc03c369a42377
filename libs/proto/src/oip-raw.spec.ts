import {
  GRPCInferenceServiceRaw,
  ModelInferRequest,
  ModelInferResponse,
  ModelStreamInferResponse,
  serializeModelInferRequest,
  serializeModelInferResponse,
  serializeModelStreamInferResponse,
} from './index';

const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('single-copy ModelInfer serializers', () => {
  // Sizes around the varint steps of the length prefix (1, 2, 3 and 4 bytes).
  const sizes = [0, 1, 127, 128, 16_383, 16_384, 2_112_000 + 3];

  it('write the same bytes as the generated encoder, requests and responses', () => {
    const request = ModelInferRequest.fromPartial({
      modelName: 'transact_encoder',
      modelVersion: '4',
      id: 'r1',
      inputs: sizes.map((n, i) => ({ name: `in${i}`, datatype: 'UINT8', shape: [n] })),
      outputs: [{ name: 'out' }],
      rawInputContents: sizes.map((n, i) => bytes(n, i)),
    });
    expect(serializeModelInferRequest(request).equals(Buffer.from(ModelInferRequest.encode(request).finish()))).toBe(true);
    expect(ModelInferRequest.decode(serializeModelInferRequest(request))).toEqual(request);

    const response = ModelInferResponse.fromPartial({
      modelName: 'transact_encoder',
      modelVersion: '4',
      outputs: sizes.map((n, i) => ({ name: `o${i}`, datatype: 'UINT8', shape: [n] })),
      rawOutputContents: sizes.map((n, i) => bytes(n, 7 + i)),
    });
    expect(serializeModelInferResponse(response).equals(Buffer.from(ModelInferResponse.encode(response).finish()))).toBe(true);

    for (const streamed of [
      ModelStreamInferResponse.fromPartial({ inferResponse: response }),
      ModelStreamInferResponse.fromPartial({ errorMessage: 'RESOURCE_EXHAUSTED: busy', inferResponse: { ...response, id: '7' } }),
      ModelStreamInferResponse.fromPartial({ errorMessage: 'INVALID_ARGUMENT: bad', inferResponse: { id: '8' } }),
    ]) {
      const raw = serializeModelStreamInferResponse(streamed);
      expect(raw.equals(Buffer.from(ModelStreamInferResponse.encode(streamed).finish()))).toBe(true);
      expect(ModelStreamInferResponse.decode(raw)).toEqual(streamed);
    }
  });

  it('leave messages without raw contents to the generated encoder, and are what the service registers', () => {
    const typed = ModelInferRequest.fromPartial({ modelName: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32Contents: [1.5] } }] });
    expect(serializeModelInferRequest(typed).equals(Buffer.from(ModelInferRequest.encode(typed).finish()))).toBe(true);
    expect(GRPCInferenceServiceRaw.modelInfer.requestSerialize).toBe(serializeModelInferRequest);
    expect(GRPCInferenceServiceRaw.modelInfer.responseSerialize).toBe(serializeModelInferResponse);
    expect(GRPCInferenceServiceRaw.modelInfer.path).toBe('/inference.GRPCInferenceService/ModelInfer');
    expect(GRPCInferenceServiceRaw.modelStreamInfer.requestSerialize).toBe(serializeModelInferRequest);
    expect(GRPCInferenceServiceRaw.modelStreamInfer.responseSerialize).toBe(serializeModelStreamInferResponse);
  });
});
