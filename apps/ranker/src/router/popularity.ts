import { readVectorFile, readVectorFileHeader } from '@pinrank/contracts';

/**
 * Item popularity from the item catalog: feeds the `dense_features` column
 * log1p(popularity) and the popularity list Recommend falls back to.
 */
export class Popularity {
  private constructor(
    private readonly byId: ReadonlyMap<string, number>,
    /** The most popular items, most popular first. */
    readonly ranked: readonly string[],
  ) {}

  /** No catalog: every item has popularity 0 and the fallback list is empty. */
  static empty(): Popularity {
    return new Popularity(new Map(), []);
  }

  /** From explicit values (tests, tools). */
  static fromEntries(entries: Iterable<readonly [string, number]>, listSize: number): Popularity {
    const byId = new Map(entries);
    const ranked = [...byId.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, listSize).map(([id]) => id);
    return new Popularity(byId, ranked);
  }

  /**
   * Reads an item catalog vector file (kind item_content with a "popularity"
   * extra field). Thrown by: a file of another kind or without that field, or
   * any ContractError of the file itself.
   */
  static async fromCatalog(path: string, listSize: number): Promise<Popularity> {
    const header = await readVectorFileHeader(path);
    const col = header.extraFields.indexOf('popularity');
    if (header.kind !== 'item_content' || col < 0) {
      throw new Error(`${path}: expected an item catalog (kind item_content with extra field "popularity"), got kind ${header.kind} with fields [${header.extraFields.join(', ')}]`);
    }
    const entries: Array<[string, number]> = [];
    for await (const rec of readVectorFile(path)) entries.push([rec.id, rec.extra[col] ?? 0]);
    return Popularity.fromEntries(entries, listSize);
  }

  /** The item's popularity; 0 for items the catalog does not name. */
  get(itemId: string): number {
    return this.byId.get(itemId) ?? 0;
  }
}
