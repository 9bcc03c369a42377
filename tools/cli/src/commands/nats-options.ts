import { type Command } from 'commander';
import { type NatsSecurity } from '@pinrank/nats';
import { type ClientTlsOptions } from '@pinrank/service-kit';

/** The NATS security flags of `pinrank ingest --nats` and `pinrank start --nats`. */
export interface NatsSecurityFlags {
  natsTls?: boolean;
  natsCa?: string;
  natsCreds?: string;
  natsUser?: string;
  natsPasswordFile?: string;
}

/** Adds the NATS security flags to `cmd`; `tlsMeaning` says whose certificate `--nats-tls` presents. */
export function natsSecurityOptions(cmd: Command, tlsMeaning: string): Command {
  return cmd
    .option('--nats-tls', `with --nats: connect with TLS, ${tlsMeaning}`)
    .option('--nats-ca <file>', 'with --nats: the CA of the NATS server (implies --nats-tls)')
    .option('--nats-creds <file>', 'with --nats: a NATS credentials file (user JWT and NKey seed)')
    .option('--nats-user <name>', 'with --nats: a NATS user (with --nats-password-file)')
    .option('--nats-password-file <file>', "with --nats: a file holding the NATS user's password");
}

/** Whether TLS was asked for: `--nats-tls`, or a CA given. */
export const natsTlsWanted = (flags: NatsSecurityFlags): boolean => Boolean(flags.natsTls) || flags.natsCa !== undefined;

/** The names of the NATS security flags given, as typed (for "needs --nats" errors). */
export function natsSecurityFlagsGiven(flags: NatsSecurityFlags): string[] {
  const names: Array<[keyof NatsSecurityFlags, string]> = [
    ['natsTls', '--nats-tls'],
    ['natsCa', '--nats-ca'],
    ['natsCreds', '--nats-creds'],
    ['natsUser', '--nats-user'],
    ['natsPasswordFile', '--nats-password-file'],
  ];
  return names.filter(([key]) => flags[key] !== undefined && flags[key] !== false).map(([, name]) => name);
}

/**
 * The NATS connection's TLS and credentials from the flags; with TLS it presents `ownTls`
 * (a certificate and its CA) and trusts `--nats-ca` over that CA. Throws, saying what to
 * give, when TLS has neither a certificate nor a CA (`noCertificate` says where one was sought).
 */
export function natsSecurityOf(flags: NatsSecurityFlags, ownTls: ClientTlsOptions | undefined, noCertificate: string): NatsSecurity {
  const tls = natsTlsWanted(flags);
  if (tls && !ownTls && !flags.natsCa) throw new Error(`--nats-tls: ${noCertificate} and no --nats-ca`);
  return {
    ...(tls ? { tls: { ...(ownTls ?? {}), ...(flags.natsCa ? { caFile: flags.natsCa } : {}) } } : {}),
    ...(flags.natsCreds ? { credsFile: flags.natsCreds } : {}),
    ...(flags.natsUser ? { user: flags.natsUser } : {}),
    ...(flags.natsPasswordFile ? { passwordFile: flags.natsPasswordFile } : {}),
  };
}
