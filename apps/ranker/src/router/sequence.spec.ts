import { encodeTensorMessage } from '@pinrank/inference';
import { ActionType, RealtimeSequence, StoredAction, UserAction } from '@pinrank/proto';
import { emptySequence, sequenceFromProto } from './sequence';

function wire(S: number, width: number, overrides: Partial<RealtimeSequence> = {}): RealtimeSequence {
  return RealtimeSequence.fromPartial({
    userId: 'u',
    length: 1,
    actionTypes: encodeTensorMessage({ dtype: 'int64', dims: [1, S], data: new BigInt64Array(S).fill(2n) }),
    itemVectors: encodeTensorMessage({ dtype: 'float32', dims: [1, S, width], data: new Float32Array(S * width).fill(0.5) }),
    agesS: encodeTensorMessage({ dtype: 'float32', dims: [1, S], data: new Float32Array(S).fill(60) }),
    ...overrides,
  });
}

describe('sequenceFromProto', () => {
  it('unpacks a [1,S] sequence of the encoder width and the saved or hidden items of its records', () => {
    const records = [ActionType.ACTION_TYPE_SAVE, ActionType.ACTION_TYPE_CLICK, ActionType.ACTION_TYPE_HIDE].map((t, i) =>
      StoredAction.fromPartial({ action: UserAction.fromPartial({ itemId: `i${i}`, actionType: t }) }),
    );
    const seq = sequenceFromProto(wire(4, 3, { records }), 3);
    expect(seq).toMatchObject({ length: 1, S: 4, width: 3, savedOrHidden: ['i0', 'i2'] });
    expect(seq.itemVectors).toHaveLength(12);
  });

  it('refuses another width, a bad shape or a length beyond S, as INVALID_ARGUMENT', () => {
    expect(() => sequenceFromProto(wire(4, 3), 32)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'item_vectors: shape [1,4,3] is not [1,4,32]' }));
    expect(() => sequenceFromProto(wire(4, 3, { length: 5 }), 3)).toThrow('length 5 is outside 0..4');
    const flat = wire(4, 3, { actionTypes: encodeTensorMessage({ dtype: 'int64', dims: [4], data: new BigInt64Array(4) }) });
    expect(() => sequenceFromProto(flat, 3)).toThrow('action_types: shape [4] is not [1,S]');
  });

  it('gives an empty sequence padding rows only', () => {
    const e = emptySequence(2, 3);
    expect(e).toMatchObject({ length: 0, S: 2, width: 3, savedOrHidden: [] });
    expect(Array.from(e.agesS)).toEqual([-1, -1]);
    expect(e.itemVectors).toHaveLength(6);
  });
});
