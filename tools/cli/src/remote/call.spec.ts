import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { cleanDetails, describeError } from './call';

function failure(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

describe('describeError', () => {
  it('tells a connection failure from a server that answered UNAVAILABLE', () => {
    expect(describeError('router', 'h:1', failure(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'))).toMatch(/^cannot reach router at h:1 .*is it running\?/);
    expect(describeError('router', 'h:1', failure(status.UNAVAILABLE, 'cpu pool: no healthy worker for ranking_heads'))).toBe('router at h:1 is unavailable: cpu pool: no healthy worker for ranking_heads');
  });

  it("keeps the server's message for a deadline the server gave up on, and says so for the client's own", () => {
    expect(describeError('router', 'h:1', failure(status.DEADLINE_EXCEEDED, 'embedding-store Retrieve did not answer before the deadline'))).toBe(
      'router at h:1 answered DEADLINE_EXCEEDED: embedding-store Retrieve did not answer before the deadline; raise --timeout or check the server',
    );
    expect(describeError('router', 'h:1', failure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.002s'))).toBe('router at h:1 did not answer within the deadline; raise --timeout or check the server');
  });

  it('drops the empty tail grpc-js puts on connection failures', () => {
    expect(cleanDetails('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50050. Resolution note: ')).toBe(
      'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50050',
    );
    expect(cleanDetails('candidate_item_ids: empty list.')).toBe('candidate_item_ids: empty list.');
    expect(describeError('cpu-worker', 'h:1', failure(status.UNAVAILABLE, 'No connection established. Resolution note: '), '--cpu-worker')).toBe(
      'cannot reach cpu-worker at h:1 (No connection established); is it running? Start the stack with `npm start` or pass --cpu-worker; a stack with mutual TLS also needs its certificates (--tls-dir)',
    );
  });
});
