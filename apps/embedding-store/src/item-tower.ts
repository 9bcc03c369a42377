/** Computes PinnerFormer item-tower vectors from content vectors (the `pinnerformer_item` model). */
export type ItemTowerFn = (content: Float32Array[]) => Promise<Float32Array[]>;

/**
 * Finds the item-tower function of one PinnerFormer model version, or
 * undefined when that version's model is not available. On-the-fly vectors
 * are only computed with the model version that produced the snapshot, so
 * they live in the same space as the snapshot's own vectors.
 */
export type ItemTowerProvider = (modelVersion: string) => Promise<ItemTowerFn | undefined>;

/** A provider that never computes vectors (unknown items stay unknown). */
export const noItemTower: ItemTowerProvider = async () => undefined;
