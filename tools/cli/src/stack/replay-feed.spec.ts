import { IngestActionsResponse } from '@pinrank/proto';
import { historyLoadedLine } from './replay-feed';

describe('the history load line', () => {
  const summary = (sent: number, r: Partial<IngestActionsResponse>) => ({ sent, response: IngestActionsResponse.fromPartial(r) });

  it('says how many actions were stored on a first start', () => {
    expect(historyLoadedLine(summary(148_119, { accepted: 148_119 }), 3)).toBe('148119 actions of the last 3 days sent (148119 stored)');
  });

  it('tells actions a restarted stack already held from new ones, and names refusals', () => {
    expect(historyLoadedLine(summary(150_000, { accepted: 2_235, duplicates: 147_760, rejected: 5 }), 3)).toBe(
      "150000 actions of the last 3 days sent (2235 stored, 147760 already held or beyond a user's retention, 5 refused)",
    );
  });
});
