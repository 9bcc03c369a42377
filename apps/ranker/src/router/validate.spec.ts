import { RankRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { checkUser, validateRankRequest } from './validate';

function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PinrankError);
    expect((err as PinrankError).code).toBe('INVALID_ARGUMENT');
    return (err as PinrankError).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

const HEADS = ['save', 'click', 'hide'];

describe('Rank request validation against hostile input', () => {
  it('quotes at most 128 bytes of an unknown head_weights key', () => {
    const req = RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1'], headWeights: { [`k${'x'.repeat(100_000)}`]: 1 } });
    const message = messageOf(() => validateRankRequest(req, 1000, HEADS));
    expect(message).toMatch(/^head_weights: unknown head "kx{127}…" \(100001 bytes\); the model's heads are save, click, hide$/);
    expect(Buffer.byteLength(message)).toBeLessThan(300);
  });

  it('escapes control characters in echoed values', () => {
    const req = RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1'], headWeights: { 'a\nb': 1 } });
    expect(messageOf(() => validateRankRequest(req, 1000, HEADS))).toMatch(/unknown head "a\\nb"/);
  });

  it('limits ids by bytes, not characters', () => {
    expect(messageOf(() => checkUser('😀'.repeat(100)))).toBe('user_id: 400 bytes; at most 256 bytes (UTF-8)');
    const req = RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1', 'é'.repeat(200)] });
    expect(messageOf(() => validateRankRequest(req, 1000, HEADS))).toBe('candidate_item_ids[1]: 400 bytes; at most 256 bytes (UTF-8)');
    const dup = RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['x'.repeat(200), 'x'.repeat(200)] });
    expect(Buffer.byteLength(messageOf(() => validateRankRequest(dup, 1000, HEADS)))).toBeLessThan(300);
  });
});
