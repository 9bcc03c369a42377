import { Metadata, type ServiceError } from '@grpc/grpc-js';

type UnaryMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** Options of one test call. */
export interface CallOptions {
  /** Admin bearer token. */
  token?: string;
  /** Deadline from now; default 20 s (the cores are shared). */
  timeoutMs?: number;
}

/** Calls a bound unary client method; rejects with the grpc-js ServiceError (code, details) unchanged. */
export function call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, o: CallOptions = {}): Promise<Res> {
  const md = new Metadata();
  if (o.token) md.set('authorization', `Bearer ${o.token}`);
  return new Promise((resolve, reject) => {
    method(req, md, { deadline: new Date(Date.now() + (o.timeoutMs ?? 20_000)) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The status of a call that must fail: `{ code, details }`; throws if it succeeded. */
export async function failure<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, o: CallOptions = {}): Promise<{ code: number; details: string }> {
  try {
    await call(method, req, o);
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded; expected it to fail');
}
