import { DataType, ModelInferRequest, ModelInferResponse, Tensor } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { decodeInferInputs, decodeInferOutput, encodeInferInputs, encodeInferOutputs } from './tensor-codec';
import { decodeTensorMessage, encodeTensorMessage } from './tensor-message';

const rawOf = (a: Float32Array | BigInt64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectInvalid(fn: () => unknown, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PinrankError);
    expect((err as PinrankError).code).toBe('INVALID_ARGUMENT');
    expect((err as PinrankError).message).toMatch(text);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('tensor codec', () => {
  it('decodes raw little-endian contents, copying unaligned buffers', () => {
    const x = new Float32Array([1.5, -2, 3, 4]);
    const idx = new BigInt64Array([0n, 7n]);
    // Offset by one byte inside a larger buffer, as gRPC may hand it over.
    const unaligned = Buffer.concat([Buffer.from([9]), rawOf(x)]).subarray(1);
    const req = ModelInferRequest.fromPartial({
      modelName: 'm',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 2] },
        { name: 'i', datatype: 'INT64', shape: [2] },
      ],
      rawInputContents: [unaligned, rawOf(idx)],
    });
    const { inputs, raw } = decodeInferInputs(req);
    expect(raw).toBe(true);
    expect(Array.from(inputs['x']!.data as Float32Array)).toEqual([1.5, -2, 3, 4]);
    expect(inputs['x']!.dims).toEqual([2, 2]);
    expect(Array.from(inputs['i']!.data as BigInt64Array)).toEqual([0n, 7n]);
  });

  it('decodes typed contents of every served datatype', () => {
    const req = ModelInferRequest.fromPartial({
      inputs: [
        { name: 'f', datatype: 'FP32', shape: [2], contents: { fp32Contents: [0.5, 1] } },
        { name: 'd', datatype: 'FP64', shape: [1], contents: { fp64Contents: [2.25] } },
        { name: 'i', datatype: 'INT32', shape: [1], contents: { intContents: [-3] } },
        { name: 'l', datatype: 'INT64', shape: [1, 1], contents: { int64Contents: [42] } },
        { name: 'b', datatype: 'BOOL', shape: [2], contents: { boolContents: [true, false] } },
      ],
    });
    const { inputs, raw } = decodeInferInputs(req);
    expect(raw).toBe(false);
    expect(inputs['f']!.data).toEqual(new Float32Array([0.5, 1]));
    expect(inputs['d']!.data).toEqual(new Float64Array([2.25]));
    expect(inputs['i']!.data).toEqual(new Int32Array([-3]));
    expect(inputs['l']!.data).toEqual(new BigInt64Array([42n]));
    expect(inputs['b']!.data).toEqual(new Uint8Array([1, 0]));
  });

  it('refuses sizes, datatypes and layouts that do not add up', () => {
    expectInvalid(
      () => decodeInferInputs(ModelInferRequest.fromPartial({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }], rawInputContents: [Buffer.alloc(8)] })),
      /raw contents hold 8 bytes; shape and datatype need 12/,
    );
    expectInvalid(
      () => decodeInferInputs(ModelInferRequest.fromPartial({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], contents: { fp32Contents: [1] } }] })),
      /contents hold 1 values; the shape needs 2/,
    );
    expectInvalid(
      () => decodeInferInputs(ModelInferRequest.fromPartial({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1] }] })),
      /datatype "BYTES" is not served/,
    );
    expectInvalid(
      () =>
        decodeInferInputs(
          ModelInferRequest.fromPartial({
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1] },
              { name: 'y', datatype: 'FP32', shape: [1] },
            ],
            rawInputContents: [Buffer.alloc(4)],
          }),
        ),
      /raw_input_contents has 1 entries but inputs has 2/,
    );
    expectInvalid(
      () =>
        decodeInferInputs(
          ModelInferRequest.fromPartial({
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1], contents: { fp32Contents: [1] } },
              { name: 'x', datatype: 'FP32', shape: [1], contents: { fp32Contents: [1] } },
            ],
          }),
        ),
      /given twice/,
    );
    expectInvalid(() => decodeInferInputs(ModelInferRequest.fromPartial({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }] })), /invalid dimension -1/);
  });

  it('encodes outputs as raw bytes or typed contents', () => {
    const t = { dtype: 'float32' as const, dims: [1, 2], data: new Float32Array([0.25, 8]) };
    const raw = encodeInferOutputs([['y', t]], true);
    expect(raw.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP32', shape: [1, 2] });
    expect(new Float32Array(new Uint8Array(raw.rawOutputContents[0]!).buffer)).toEqual(t.data);
    const typed = encodeInferOutputs([['y', t], ['n', { dtype: 'int64', dims: [1], data: new BigInt64Array([5n]) }]], false);
    expect(typed.rawOutputContents).toEqual([]);
    expect(typed.outputs[0]!.contents!.fp32Contents).toEqual([0.25, 8]);
    expect(typed.outputs[1]!.contents!.int64Contents).toEqual([5]);
  });
});

describe('tensor codec, client side', () => {
  it('encodes request inputs the server decodes back to the same tensors, without copying', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const idx = new BigInt64Array([0n, 0n, 0n]);
    const encoded = encodeInferInputs([
      ['x', { dtype: 'float32', dims: [3, 2], data: x }],
      ['idx', { dtype: 'int64', dims: [3], data: idx }],
    ]);
    expect(encoded.inputs.map((i) => [i.name, i.datatype, i.shape])).toEqual([
      ['x', 'FP32', [3, 2]],
      ['idx', 'INT64', [3]],
    ]);
    expect(encoded.rawInputContents[0]!.buffer).toBe(x.buffer);
    const { inputs } = decodeInferInputs(ModelInferRequest.fromPartial({ modelName: 'm', ...encoded }));
    expect(inputs['x']).toEqual({ dtype: 'float32', dims: [3, 2], data: x });
    expect(inputs['idx']).toEqual({ dtype: 'int64', dims: [3], data: idx });
  });

  it('refuses to encode data that does not fill its dims', () => {
    expectInvalid(() => encodeInferInputs([['x', { dtype: 'float32', dims: [2, 2], data: new Float32Array(3) }]]), /input "x": 3 values for shape \[2,2\]/);
  });

  it('decodes a response output from raw or typed contents, checking datatype and fixed axes', () => {
    const y = { dtype: 'float32' as const, dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    for (const raw of [true, false]) {
      const res = ModelInferResponse.fromPartial({ modelName: 'heads', ...encodeInferOutputs([['probs', y]], raw) });
      expect(decodeInferOutput(res, 'probs', { dtype: 'float32', dims: [2, 3] })).toEqual(y);
      expect(decodeInferOutput(res, 'probs', { dtype: 'float32', dims: [-1, 3] }).dims).toEqual([2, 3]);
    }
    const res = ModelInferResponse.fromPartial({ modelName: 'heads', ...encodeInferOutputs([['probs', y]], true) });
    expectInvalid(() => decodeInferOutput(res, 'encoded', { dtype: 'float32', dims: [2, 3] }), /heads: response has no output "encoded" \(got probs\)/);
    expectInvalid(() => decodeInferOutput(res, 'probs', { dtype: 'int64', dims: [2, 3] }), /output "probs" is FP32, expected INT64/);
    expectInvalid(() => decodeInferOutput(res, 'probs', { dtype: 'float32', dims: [2, 4] }), /output "probs" has shape \[2,3\], expected \[2,4\]/);
    const short = ModelInferResponse.fromPartial({ ...res, rawOutputContents: [Buffer.alloc(8)] });
    expectInvalid(() => decodeInferOutput(short, 'probs', { dtype: 'float32', dims: [2, 3] }), /raw contents hold 8 bytes; shape and datatype need 24/);
  });
});

describe('pinrank Tensor messages', () => {
  it('round-trips float32 and int64 in raw form and reads the typed fields', () => {
    const f = { dtype: 'float32' as const, dims: [2, 2], data: new Float32Array([0.5, 1, 1.5, 2]) };
    expect(decodeTensorMessage(encodeTensorMessage(f), 'float32', 'v')).toEqual(f);
    const i = { dtype: 'int64' as const, dims: [3], data: new BigInt64Array([1n, -2n, 3n]) };
    expect(decodeTensorMessage(encodeTensorMessage(i), 'int64', 'v')).toEqual(i);
    const typed = Tensor.fromPartial({ dtype: DataType.DATA_TYPE_INT64, shape: [1, 2], int64Values: [4, 5] });
    expect(decodeTensorMessage(typed, 'int64', 'types').data).toEqual(new BigInt64Array([4n, 5n]));
  });

  it('refuses a missing tensor, another element type or a count that does not fit the shape', () => {
    expectInvalid(() => decodeTensorMessage(undefined, 'float32', 'item_vectors'), /item_vectors: missing/);
    expectInvalid(() => decodeTensorMessage(Tensor.fromPartial({ dtype: DataType.DATA_TYPE_INT64, shape: [1] }), 'float32', 'v'), /v: dtype 2 is not float32/);
    expectInvalid(() => decodeTensorMessage(Tensor.fromPartial({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [3], floatValues: [1] }), 'float32', 'v'), /v: 1 values for shape \[3\]/);
  });
});
