import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status as GrpcStatus } from '@grpc/grpc-js';
import { HealthCheckResponse, HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckRequest } from '@pinrank/proto';
import { quote } from './client-input';

type Watcher = (status: ServingStatus) => void;

/**
 * Serving status per service name ("" is the whole server) and the
 * grpc.health.v1 Check/Watch handlers over it.
 */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly streams = new Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();

  /** Sets one service's status and tells its watchers when it changed. */
  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const w of this.watchers.get(service) ?? []) w(status);
  }

  /** Sets every known service (and the server entry) to `status`. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, status);
  }

  /** The status of a service, or undefined when it is not registered. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Ends every open Watch stream (so a graceful shutdown is not held open by watchers). */
  endWatches(): void {
    for (const call of this.streams) call.end();
    this.streams.clear();
  }

  /** grpc-js handlers for `HealthService`. */
  handlers(): { check: typeof HealthStatus.prototype.check; watch: typeof HealthStatus.prototype.watch } {
    return { check: this.check.bind(this), watch: this.watch.bind(this) };
  }

  private check(
    call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
    callback: sendUnaryData<HealthCheckResponse>,
  ): void {
    const status = this.statuses.get(call.request.service);
    if (status === undefined) {
      callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${quote(call.request.service)}` });
      return;
    }
    callback(null, HealthCheckResponse.fromPartial({ status }));
  }

  private watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
    const service = call.request.service;
    const send: Watcher = (status) => {
      call.write(HealthCheckResponse.fromPartial({ status }));
    };
    send(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
    // Services are registered at start-up: an unknown name never changes, so no watcher is kept for it
    // (a client could otherwise grow the map with any number of made-up names).
    let set = this.statuses.has(service) ? this.watchers.get(service) : undefined;
    if (!set && this.statuses.has(service)) this.watchers.set(service, (set = new Set()));
    set?.add(send);
    this.streams.add(call);
    const stop = (): void => {
      set?.delete(send);
      this.streams.delete(call);
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('finish', stop);
  }
}
