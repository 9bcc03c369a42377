// The partitioning of the action stream: which JetStream stream and subject carry a user's
// actions when the stream is split in P partitions. Producers and the feature-server both
// derive it from here, so a producer in another language only has to match `actionPartition`.

/** Most partitions the action stream may be split into. */
export const MAX_ACTION_PARTITIONS = 256;

/** One partition of the action stream: its JetStream stream name and the subject its actions are published on. */
export interface ActionStreamPartition {
  stream: string;
  subject: string;
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_ACTION_PARTITIONS) {
    throw new TypeError(`action stream partitions: expected an integer in 1..${MAX_ACTION_PARTITIONS}, got ${partitions}`);
  }
}

/**
 * The partition of `userId`'s actions: the 32-bit FNV-1a hash of the id's UTF-8 bytes,
 * modulo `partitions`. All of a user's actions go to one partition, in the order published.
 */
export function actionPartition(userId: string, partitions: number): number {
  checkPartitions(partitions);
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(userId, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/**
 * The streams and subjects of the action stream. With one partition, the stream and subject
 * as named (the unpartitioned layout); with P > 1, stream `<stream>_<p>` on subject
 * `<subject>.<p>` for p = 0 … P − 1.
 */
export function actionStreamPartitions(stream: string, subject: string, partitions: number): ActionStreamPartition[] {
  checkPartitions(partitions);
  if (partitions === 1) return [{ stream, subject }];
  if (subject.split('.').some((token) => token === '*' || token === '>' || token === '')) {
    throw new TypeError(`action stream subject "${subject}": with ${partitions} partitions it must be a plain subject (no wildcard or empty token), to which ".<partition>" is appended`);
  }
  return Array.from({ length: partitions }, (_, p) => ({ stream: `${stream}_${p}`, subject: `${subject}.${p}` }));
}

/** The subject to publish `userId`'s action on (`subject` itself with one partition). */
export function actionSubject(subject: string, userId: string, partitions: number): string {
  return partitions === 1 ? (checkPartitions(partitions), subject) : `${subject}.${actionPartition(userId, partitions)}`;
}
