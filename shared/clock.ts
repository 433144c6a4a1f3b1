import { PreconditionError } from './errors.js';
import type { ObjectStore } from './store/index.js';

/**
 * Snapshot keys carry the writer's clock, and "newest" and retention ages are counted from them: a host
 * whose clock runs ahead would write keys from the future. Before writing, this host's time is compared
 * with the store's (the `Date` of one small request to it); beyond the tolerance the run is refused. A local
 * directory's clock is this host's own, so there is nothing to compare (nor where the store reports no time).
 */
export async function checkClock(store: ObjectStore, hostNow: Date, toleranceMs: number): Promise<void> {
  if (toleranceMs === 0 || !store.serverTime) return;
  const storeNow = await store.serverTime();
  if (!storeNow) return;
  const skewMs = hostNow.getTime() - storeNow.getTime();
  if (Math.abs(skewMs) <= toleranceMs) return;
  throw new PreconditionError(
    'CLOCK_SKEW_TOLERANCE',
    `this host's clock says ${hostNow.toISOString()} but ${store.description} says ${storeNow.toISOString()}: ` +
      `${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs > 0 ? 'ahead' : 'behind'}, more than the ${Math.round(toleranceMs / 1000)} s allowed`,
    "set this host's clock right (NTP) before taking snapshots: their keys carry this host's time; nothing was written",
  );
}
