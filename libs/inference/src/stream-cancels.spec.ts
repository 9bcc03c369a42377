import { ModelInferRequest } from '@pinrank/proto';
import { CANCEL_PARAM } from './request-params';
import { StreamCancels } from './stream-cancels';

const req = (id: string): ModelInferRequest => ModelInferRequest.fromPartial({ id, modelName: 'm' });
const cancel = (id: string): ModelInferRequest => ModelInferRequest.fromPartial({ id, parameters: { [CANCEL_PARAM]: { parameterChoice: { $case: 'boolParam', value: true } } } });

async function* from(messages: ModelInferRequest[]): AsyncGenerator<ModelInferRequest> {
  for (const m of messages) yield m;
}

describe('StreamCancels', () => {
  it('takes cancel messages out of the requests and aborts the request in flight they name', async () => {
    const cancels = new StreamCancels(new AbortController().signal);
    const a = cancels.track(req('a'));
    const b = cancels.track(req('b'));
    const passed: string[] = [];
    for await (const m of cancels.requests(from([req('c'), cancel('a'), cancel('nobody'), req('d')]))) passed.push(m.id);
    expect(passed).toEqual(['c', 'd']);
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(false);
    expect(cancels.cancelled).toBe(1);
  });

  it('forgets a released request: a later cancel with its id reaches nothing, and the id may be used again', async () => {
    const cancels = new StreamCancels(new AbortController().signal);
    const first = cancels.track(req('x'));
    first.release();
    for await (const _ of cancels.requests(from([cancel('x')]))) throw new Error('a cancel message is not a request');
    expect(first.signal.aborted).toBe(false);
    const again = cancels.track(req('x'));
    for await (const _ of cancels.requests(from([cancel('x')]))) throw new Error('a cancel message is not a request');
    expect(again.signal.aborted).toBe(true);
  });

  it('lets the first of two requests with one id hold it, and leaves requests without an id to the stream’s own cancellation', async () => {
    const stream = new AbortController();
    const cancels = new StreamCancels(stream.signal);
    const first = cancels.track(req('dup'));
    const second = cancels.track(req('dup'));
    const anonymous = cancels.track(req(''));
    for await (const _ of cancels.requests(from([cancel('dup'), cancel('')]))) throw new Error('a cancel message is not a request');
    expect(first.signal.aborted).toBe(true);
    expect(second.signal.aborted).toBe(false);
    expect(anonymous.signal.aborted).toBe(false);
    second.release(); // does not free the id the first holds
    stream.abort();
    expect(second.signal.aborted).toBe(true);
    expect(anonymous.signal.aborted).toBe(true);
  });

  it('aborts every request in flight when the stream ends, and those tracked after it at once', () => {
    const stream = new AbortController();
    const cancels = new StreamCancels(stream.signal);
    const live = cancels.track(req('1'));
    stream.abort();
    expect(live.signal.aborted).toBe(true);
    expect(cancels.track(req('2')).signal.aborted).toBe(true);
  });
});
