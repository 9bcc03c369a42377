import { SERVICE_IDENTITIES as ID } from '@pinrank/contracts';
import { FeatureServerService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, allow, servicePolicy } from '@pinrank/service-kit';

/**
 * Who may call feature-server (docs/security.md): producers write actions,
 * the router reads sequences, operators read for debugging and delete users.
 * A new RPC does not compile until it has a rule here.
 */
export const FEATURE_SERVER_POLICY = servicePolicy(FeatureServerService, {
  ingestActions: allow(ID.producer),
  getRealtimeSequence: allow(ID.router, ADMIN_PRINCIPAL),
  getRealtimeSequences: allow(ID.router, ADMIN_PRINCIPAL),
  streamRealtimeSequences: allow(ID.router, ADMIN_PRINCIPAL),
  deleteUser: allow(ADMIN_PRINCIPAL),
});
