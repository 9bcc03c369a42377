import { answerConcurrently } from './stream-answers';

async function* from<T>(items: T[], failAfter?: Error): AsyncGenerator<T> {
  for (const x of items) yield x;
  if (failAfter) throw failAfter;
}

const after = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('answerConcurrently', () => {
  it('yields the answers in the order they finish, running at most maxInFlight at once', async () => {
    let running = 0;
    let most = 0;
    const answer = async (ms: number, i: number): Promise<string> => {
      running++;
      most = Math.max(most, running);
      await after(ms);
      running--;
      return `${i}:${ms}`;
    };
    const got: string[] = [];
    for await (const a of answerConcurrently(from([40, 5, 20, 1, 1]), answer, 2)) got.push(a);
    expect(most).toBe(2);
    expect(got).toHaveLength(5);
    expect(got[0]).toBe('1:5'); // finished before the 40 ms one that was read first
    expect(got.indexOf('0:40')).toBeGreaterThan(got.indexOf('2:20'));
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
