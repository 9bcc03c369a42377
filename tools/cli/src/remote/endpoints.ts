import { type ClientTlsFlags } from './client-tls';

/** Default addresses of a local stack (the README's port table). */
export const DEFAULT_ENDPOINTS = {
  router: '127.0.0.1:50050',
  'feature-server': '127.0.0.1:50051',
  'embedding-store': '127.0.0.1:50052',
  'gpu-worker': '127.0.0.1:50061',
  'cpu-worker': '127.0.0.1:50062',
} as const;

/** A service of the stack the CLI can talk to. */
export type StackService = keyof typeof DEFAULT_ENDPOINTS;

/** Options every remote command accepts. */
export interface RemoteFlags extends ClientTlsFlags {
  /** host:port of the server (defaults per service). */
  addr?: string;
  /** Deadline of each call in milliseconds. */
  timeout: number;
  /** Admin bearer token (also PINRANK_ADMIN_TOKEN). */
  token?: string;
  /** Print JSON instead of tables. */
  json?: boolean;
}
