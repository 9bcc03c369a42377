import { ActionType, ModelInferRequest, UserAction, RankerService, GRPCInferenceServiceService } from './index';

describe('generated protocol code', () => {
  it('round-trips a UserAction through the wire format', () => {
    const action = UserAction.fromPartial({
      actionId: 'a1',
      userId: 'u1',
      itemId: 'i1',
      actionType: ActionType.ACTION_TYPE_SAVE,
      timestampMs: 1_760_000_000_123,
      durationMs: 1500,
    });
    const decoded = UserAction.decode(UserAction.encode(action).finish());
    expect(decoded).toEqual(action);
    expect(decoded.timestampMs).toBe(1_760_000_000_123);
  });

  it('keeps the Open Inference Protocol field numbers of the published protocol', () => {
    // raw_input_contents is field 7 (wire type 2 → tag byte 0x3a); model_name is field 1 (0x0a).
    const bytes = ModelInferRequest.encode(
      ModelInferRequest.fromPartial({ modelName: 'm', rawInputContents: [Buffer.from([1])] }),
    ).finish();
    expect(Array.from(bytes)).toEqual([0x0a, 1, 0x6d, 0x3a, 1, 1]);
  });

  it('exposes the services under their published paths', () => {
    expect(GRPCInferenceServiceService.modelInfer.path).toBe('/inference.GRPCInferenceService/ModelInfer');
    expect(RankerService.rank.path).toBe('/pinrank.v1.Ranker/Rank');
  });
});
