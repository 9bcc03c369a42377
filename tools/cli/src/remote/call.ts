import { Metadata, status, type ChannelCredentials, type ChannelOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, type ClientTlsOptions } from '@pinrank/service-kit';
import { CliError, failureKindOf } from '../cli-error';

/** A constructor of a ts-proto generated grpc-js client. */
export type ClientCtor<C extends Client> = new (address: string, creds: ChannelCredentials, options?: ChannelOptions) => C;

/**
 * Opens a client to `address` (a local or port-forwarded stack): TLS with a
 * client certificate when `tls` is given, else plaintext. A loopback IP is
 * verified as "localhost" or as itself (the local certificates carry both).
 */
export function openClient<C extends Client>(Ctor: ClientCtor<C>, address: string, tls?: ClientTlsOptions): C {
  return new Ctor(address, channelCredentials(tls, address), tls ? clientChannelOptions({ tls }, address) : {});
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

/** A failed call as a CliError: the message from {@link describeError}, the exit code from its status. */
export function callError(what: string, address: string, err: ServiceError, addrFlag = '--addr'): CliError {
  return new CliError(describeError(what, address, err, addrFlag), failureKindOf(err.code), { cause: err, status: status[err.code] ?? String(err.code) });
}

/**
 * Calls a unary method with a deadline and turns gRPC failures into messages a
 * person can act on (server unreachable, deadline, refused credentials).
 * `addrFlag` is the option that sets this server's address, for the hint.
 */
export function unary<Req, Res>(
  what: string,
  address: string,
  method: UnaryMethod<Req, Res>,
  req: Req,
  opts: { timeoutMs: number; token?: string; addrFlag?: string },
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, authMetadata(opts.token), { deadline: new Date(Date.now() + opts.timeoutMs) }, (err, res) => {
      if (err) reject(callError(what, address, err, opts.addrFlag));
      else resolve(res);
    });
  });
}

/**
 * grpc-js connection details without their empty tail: "No connection
 * established. Last error: Error: connect ECONNREFUSED … Resolution note: "
 * becomes "No connection established. Last error: connect ECONNREFUSED …".
 */
export function cleanDetails(details: string): string {
  const withoutNote = /^([\s\S]*?)\.?\s*Resolution note:\s*$/.exec(details)?.[1] ?? details;
  return withoutNote.replace('Last error: Error: ', 'Last error: ').trim();
}

/** Whether an UNAVAILABLE came from the connection (nothing listening, link lost) rather than from the server's own answer. */
function isConnectionFailure(details: string): boolean {
  return details === '' || /no connection established|failed to connect|connection dropped|connect e[a-z]+|econnrefused|ehostunreach|name resolution/i.test(details);
}

/**
 * One line explaining a failed call; a status the server itself answered keeps
 * the server's message. `addrFlag` names the option that points the command
 * at another address.
 */
export function describeError(what: string, address: string, err: ServiceError, addrFlag = '--addr'): string {
  const details = cleanDetails(err.details ?? '');
  switch (err.code) {
    case status.UNAVAILABLE:
      if (!isConnectionFailure(details)) return `${what} at ${address} is unavailable: ${details}`;
      return `cannot reach ${what} at ${address} (${details || 'unavailable'}); is it running? Start the stack with \`npm start\` or pass ${addrFlag}; a stack with mutual TLS also needs its certificates (--tls-dir)`;
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
