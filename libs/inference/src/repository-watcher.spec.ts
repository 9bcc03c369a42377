import { RepositoryWatcher } from './repository-watcher';

/** A repository whose fingerprint the test sets directly. */
function fakeRepository() {
  const state = { prints: new Map<string, string>(), reads: 0 };
  return {
    state,
    repository: {
      root: '/nonexistent',
      fingerprint: async () => {
        state.reads++;
        return new Map(state.prints);
      },
    },
  };
}

describe('RepositoryWatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports a change only after the tree has stayed the same for the quiet period', async () => {
    const { state, repository } = fakeRepository();
    state.prints.set('a', 'v1');
    const reports: string[][] = [];
    const w = new RepositoryWatcher({ repository, pollIntervalMs: 100, debounceMs: 50, onChange: async (m) => void reports.push(m) });
    await w.start();
    await jest.advanceTimersByTimeAsync(500);
    expect(reports).toEqual([]);

    state.prints.set('b', 'v1:copying'); // a version appears and is still being written
    const before = state.reads;
    while (state.reads === before) await jest.advanceTimersByTimeAsync(1); // first sighting
    expect(reports).toEqual([]);
    state.prints.set('b', 'v1:complete'); // it changed again within the quiet period
    await jest.advanceTimersByTimeAsync(50);
    expect(reports).toEqual([]);
    await jest.advanceTimersByTimeAsync(50);
    expect(reports).toEqual([['b']]);

    state.prints.delete('a');
    await jest.advanceTimersByTimeAsync(300);
    expect(reports).toEqual([['b'], ['a']]);
    await w.stop();
    const reads = state.reads;
    await jest.advanceTimersByTimeAsync(1000);
    expect(state.reads).toBe(reads);
  });

  it('check() reports at once, and mode off never polls', async () => {
    const { state, repository } = fakeRepository();
    const reports: string[][] = [];
    const w = new RepositoryWatcher({ repository, mode: 'off', onChange: async (m) => void reports.push(m) });
    await w.start();
    state.prints.set('x', '1');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(state.reads).toBe(0);
    expect(await w.check()).toEqual(['x']);
    expect(reports).toEqual([['x']]);
    expect(await w.check()).toEqual([]);
  });

  it('validates its options', () => {
    const { repository } = fakeRepository();
    expect(() => new RepositoryWatcher({ repository, pollIntervalMs: 0, onChange: async () => undefined })).toThrow(TypeError);
  });
});
