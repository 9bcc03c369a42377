import { type ExperimentArm, type ExperimentOptions } from './router-options';

/** A user's place in an experiment. */
export interface Assignment {
  experiment: string;
  arm: ExperimentArm;
}

/** FNV-1a over UTF-16 code units plus a finaliser: stable across processes, so a user stays in one arm. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // FNV alone mixes the last characters poorly into the high bits; murmur3's finaliser spreads them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The arm of `userId` (hash of experiment name and user into [0,1) against cumulative shares), or undefined when outside every arm. */
export function assignArm(experiment: ExperimentOptions | undefined, userId: string): Assignment | undefined {
  if (!experiment) return undefined;
  const u = fnv1a(`${experiment.name}:${userId}`) / 2 ** 32;
  let acc = 0;
  for (const arm of experiment.arms) {
    acc += arm.share;
    if (u < acc) return { experiment: experiment.name, arm };
  }
  return undefined;
}
