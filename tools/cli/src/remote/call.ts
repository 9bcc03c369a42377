import { Metadata, status, type ChannelCredentials, type ChannelOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, type ClientTlsOptions } from '@pinrank/service-kit';

/** A constructor of a ts-proto generated grpc-js client. */
export type ClientCtor<C extends Client> = new (address: string, creds: ChannelCredentials, options?: ChannelOptions) => C;

/**
 * Opens a client to `address` (a local or port-forwarded stack): TLS with a
 * client certificate when `tls` is given, else plaintext. A loopback address
 * is verified as "localhost" (the local certificates carry both), which also
 * keeps Node from warning about an IP address as TLS server name.
 */
export function openClient<C extends Client>(Ctor: ClientCtor<C>, address: string, tls?: ClientTlsOptions): C {
  const loopback = /^(127\.0\.0\.1|\[::1\]|localhost):\d+$/.test(address);
  const effective = tls && loopback && !tls.serverNameOverride ? { ...tls, serverNameOverride: 'localhost' } : tls;
  return new Ctor(address, channelCredentials(effective), effective ? clientChannelOptions({ tls: effective }) : {});
}

/** Metadata carrying the admin bearer token, when one is given. */
export function authMetadata(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

type UnaryMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

/**
 * Calls a unary method with a deadline and turns gRPC failures into messages a
 * person can act on (server unreachable, deadline, refused credentials).
 */
export function unary<Req, Res>(
  what: string,
  address: string,
  method: UnaryMethod<Req, Res>,
  req: Req,
  opts: { timeoutMs: number; token?: string },
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, authMetadata(opts.token), { deadline: new Date(Date.now() + opts.timeoutMs) }, (err, res) => {
      if (err) reject(new Error(describeError(what, address, err), { cause: err }));
      else resolve(res);
    });
  });
}

/** Whether an UNAVAILABLE came from the connection (nothing listening, link lost) rather than from the server's own answer. */
function isConnectionFailure(details: string): boolean {
  return details === '' || /no connection established|failed to connect|connection dropped|connect e[a-z]+|econnrefused|ehostunreach|name resolution/i.test(details);
}

/** One line explaining a failed call; a status the server itself answered keeps the server's message. */
export function describeError(what: string, address: string, err: ServiceError): string {
  const details = err.details ?? '';
  switch (err.code) {
    case status.UNAVAILABLE:
      if (!isConnectionFailure(details)) return `${what} at ${address} is unavailable: ${details}`;
      return `cannot reach ${what} at ${address} (${details || 'unavailable'}); is it running? Start the stack with \`npm start\` or pass --addr; a stack with mutual TLS also needs its certificates (--tls-dir)`;
    case status.DEADLINE_EXCEEDED:
      // grpc-js words its own client-side timeout "Deadline exceeded ..."; anything else is the server's answer.
      if (details && !/^deadline exceeded/i.test(details)) return `${what} at ${address} answered DEADLINE_EXCEEDED: ${details}; raise --timeout or check the server`;
      return `${what} at ${address} did not answer within the deadline; raise --timeout or check the server`;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return `${what} refused the call: ${details}. The caller is the certificate in --tls-dir (default .cache/stack/pki) or the --token (PINRANK_ADMIN_TOKEN) sent`;
    default:
      return `${what}: ${status[err.code] ?? err.code}: ${details}`;
  }
}
