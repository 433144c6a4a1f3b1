/**
 * Runs `work` over `items`, at most `limit` at a time, and returns the results in the items' order. Each
 * item starts as soon as a slot is free, so a slow item holds one slot and never the others. The first
 * rejection rejects the whole, and no further item starts (items already running finish on their own);
 * callers that must not stop on one item's failure catch inside `work`.
 */
export async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        stopped = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
