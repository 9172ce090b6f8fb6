import { parseAbi, type Address, type PublicClient } from "viem";
import { QuoteError } from "./errors.js";

/** The two calls of Chainlink's AggregatorV3Interface the gateway makes. */
export const aggregatorV3Abi = parseAbi([
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);

/** One feed's latest round as read at `blockNumber`. Unchecked: {checkRound} decides whether it may price. */
export type FeedRound = {
  feed: Address;
  roundId: bigint;
  answer: bigint;
  decimals: number;
  /** unix seconds */
  updatedAt: bigint;
  blockNumber: bigint;
};

export type FeedReader = {
  /** The feed's latest round at the current block: read from the chain at most once per block and feed. */
  latest(feed: Address): Promise<FeedRound>;
  /** RPC reads of feeds so far (a read is `latestRoundData` + `decimals` at one block) */
  readonly reads: number;
};

export type CreateFeedReaderParameters = {
  client: PublicClient;
  /**
   * How long the current block number is taken as current, ms (default 1,000). Concurrent quotes share one
   * `eth_blockNumber` per this interval, and one feed read per block, so a burst of quotes costs the RPC
   * almost nothing; a quote then reads prices at most this much older than the head.
   */
  blockCacheMs?: number;
};

/**
 * Reads AggregatorV3 feeds over the chain's RPC, cached per block: every caller asking for a feed while the
 * head is block N shares the one read made at block N (even while it is in flight). A failed read is not
 * kept, so the next caller tries again. Entries of blocks before the previous one are dropped.
 */
export function createFeedReader({ client, blockCacheMs = 1_000 }: CreateFeedReaderParameters): FeedReader {
  const byBlock = new Map<bigint, Map<string, Promise<FeedRound>>>();
  let reads = 0;

  async function read(feed: Address, blockNumber: bigint): Promise<FeedRound> {
    reads++;
    try {
      const [round, decimals] = await Promise.all([
        client.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "latestRoundData", blockNumber }),
        client.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "decimals", blockNumber }),
      ]);
      const [roundId, answer, , updatedAt] = round;
      return { feed, roundId, answer, decimals, updatedAt, blockNumber };
    } catch (cause) {
      throw new QuoteError("rpc", `Price feed ${feed} could not be read at block ${blockNumber}`, { cause });
    }
  }

  return {
    get reads() {
      return reads;
    },
    async latest(feed) {
      let head: bigint;
      try {
        head = await client.getBlockNumber({ cacheTime: blockCacheMs });
      } catch (cause) {
        throw new QuoteError("rpc", "The chain's RPC did not answer the block number: no price can be read", { cause });
      }
      const feeds = byBlock.get(head) ?? new Map<string, Promise<FeedRound>>();
      if (!byBlock.has(head)) {
        byBlock.set(head, feeds);
        for (const b of byBlock.keys()) if (b < head - 1n) byBlock.delete(b);
      }
      const key = feed.toLowerCase();
      let round = feeds.get(key);
      if (!round) {
        round = read(feed, head);
        feeds.set(key, round);
        round.catch(() => feeds.get(key) === round && feeds.delete(key));
      }
      return round;
    },
  };
}
