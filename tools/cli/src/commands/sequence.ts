import { type Command } from 'commander';
import { FeatureServerClient, GetRealtimeSequenceRequest, actionTypeToJSON } from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';
import { intOption } from './options';

interface SequenceFlags extends RemoteFlags {
  user: string;
  maxLen: number;
  time?: number;
}

/** `pinrank sequence`: a user's realtime sequence as the ranker would see it. */
export function registerSequence(program: Command, io: CliIo): void {
  remoteOptions(
    program
      .command('sequence')
      .description("a user's realtime action sequence (feature-server GetRealtimeSequence), newest first")
      .requiredOption('--user <id>', 'user id')
      .option('--max-len <n>', 'sequence length', intOption(1, 1000), 100)
      .option('--time <ms>', 'as-of time in epoch ms (default: now)', intOption(0)),
    'feature-server',
  ).action(async (flags: SequenceFlags) => {
    const r = resolveRemote(flags, 'feature-server');
    const client = openClient(FeatureServerClient, r.address, r.tls);
    try {
      const req = GetRealtimeSequenceRequest.fromPartial({
        userId: flags.user,
        maxLen: flags.maxLen,
        asOfMs: flags.time ?? 0,
        includeRecords: true,
      });
      const res = await unary('feature-server', r.address, client.getRealtimeSequence.bind(client), req, r);
      if (flags.json) {
        io.out(toJson(res));
        return;
      }
      const rows = res.records.map((rec, i) => {
        const a = rec.action;
        return [
          i + 1,
          new Date(a?.timestampMs ?? 0).toISOString(),
          actionTypeToJSON(a?.actionType ?? 0).replace('ACTION_TYPE_', '').toLowerCase(),
          a?.itemId ?? '',
          ((res.asOfMs - (a?.timestampMs ?? 0)) / 1000).toFixed(1),
          rec.itemKnown ? 'yes' : 'NO',
        ];
      });
      // No table for no actions: a header over nothing reads like a failed query.
      if (rows.length > 0) io.out(table(['#', 'time (UTC)', 'action', 'item', 'age s', 'in catalog'], rows));
      io.out(`user ${res.userId}: ${res.length} actions as of ${new Date(res.asOfMs).toISOString()}\n`);
    } finally {
      client.close();
    }
  });
}
