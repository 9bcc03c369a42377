import { answerConcurrently } from './stream-answers';
import { deferred, waitFor } from './test-helpers';

async function* from<T>(items: T[], failAfter?: Error): AsyncGenerator<T> {
  for (const x of items) yield x;
  if (failAfter) throw failAfter;
}

describe('answerConcurrently', () => {
  it('yields the answers in the order they finish, running at most maxInFlight at once', async () => {
    // The test decides when each answer finishes (no timers: a loaded machine cannot reorder them).
    const gates = new Map<string, { resolve: () => void }>();
    const started: string[] = [];
    let running = 0;
    let most = 0;
    const answer = async (id: string, i: number): Promise<string> => {
      running++;
      most = Math.max(most, running);
      started.push(id);
      const gate = deferred();
      gates.set(id, gate);
      await gate.promise;
      running--;
      return `${i}:${id}`;
    };
    const got: string[] = [];
    const done = (async () => {
      for await (const a of answerConcurrently(from(['a', 'b', 'c', 'd', 'e']), answer, 2)) got.push(a);
    })();
    const finish = async (id: string, thenStarted: string[], thenGot: string[]): Promise<void> => {
      gates.get(id)?.resolve();
      await waitFor(() => got.length === thenGot.length && started.length === thenStarted.length);
      expect(got).toEqual(thenGot);
      expect(started).toEqual(thenStarted);
    };
    await waitFor(() => started.length === 2);
    expect(started).toEqual(['a', 'b']);
    // b finishes before a, which was read first; c takes its place.
    await finish('b', ['a', 'b', 'c'], ['1:b']);
    await finish('c', ['a', 'b', 'c', 'd'], ['1:b', '2:c']);
    await finish('a', ['a', 'b', 'c', 'd', 'e'], ['1:b', '2:c', '0:a']);
    await finish('e', ['a', 'b', 'c', 'd', 'e'], ['1:b', '2:c', '0:a', '4:e']);
    await finish('d', ['a', 'b', 'c', 'd', 'e'], ['1:b', '2:c', '0:a', '4:e', '3:d']);
    await done;
    expect(most).toBe(2);
  });

  it('answers what it took before throwing the input’s error', async () => {
    const got: number[] = [];
    const run = (async () => {
      for await (const a of answerConcurrently(from([1, 2], new Error('input broke')), async (x: number) => x * 10, 4)) got.push(a);
    })();
    await expect(run).rejects.toThrow('input broke');
    expect(got.sort()).toEqual([10, 20]);
  });

  it('refuses a maxInFlight that is not a positive integer', async () => {
    await expect(answerConcurrently(from([1]), async (x: number) => x, 0).next()).rejects.toThrow(/maxInFlight must be an integer >= 1/);
  });
});
