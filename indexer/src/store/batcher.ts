/**
 * Groups concurrent calls into one database statement (adaptive micro-batching). A call starts a batch at
 * once while fewer than `maxInFlight` batches are running; otherwise it waits for the next free slot and
 * goes with every call that queued meanwhile. So a lone request is never delayed, and under load one round
 * trip (and one commit) serves many requests: on these machines a loopback round trip, not PostgreSQL or
 * Node, sets the pace (issue 3).
 */
export type Batcher<I, O> = { run(item: I): Promise<O> };

export type CreateBatcherParameters<I, O> = {
  /** runs one batch; returns one result per item, in order (an Error in a slot fails only that item) */
  runBatch(items: I[]): Promise<(O | Error)[]>;
  maxInFlight?: number;
  maxBatch?: number;
};

export function createBatcher<I, O>({ runBatch, maxInFlight = 4, maxBatch = 64 }: CreateBatcherParameters<I, O>): Batcher<I, O> {
  type Pending = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      runBatch(batch.map((p) => p.item))
        .then(
          (results) => batch.forEach((p, i) => (results[i] instanceof Error ? p.reject(results[i]) : p.resolve(results[i] as O))),
          (e) => batch.forEach((p) => p.reject(e)),
        )
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  };
  // flush after the current I/O callbacks, so the requests parsed in this turn of the loop go together
  const schedule = () => {
    if (!scheduled && queue.length > 0) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    run(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}

/**
 * One batcher per key object (a database handle, say), made on first use and dropped with the key: the
 * calls that may share a statement are the ones on the same connection pool.
 */
export function batcherPerKey<K extends object, I, O>(runBatch: (key: K, items: I[]) => Promise<(O | Error)[]>): (key: K) => Batcher<I, O> {
  const made = new WeakMap<K, Batcher<I, O>>();
  return (key) => {
    let b = made.get(key);
    if (!b) made.set(key, (b = createBatcher<I, O>({ runBatch: (items) => runBatch(key, items) })));
    return b;
  };
}
