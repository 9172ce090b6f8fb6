import { BaseError } from "../domain/errors.js";

/** An RPC call failed. `retryable` says whether the same call may succeed later (network, 429, 5xx, timeouts). */
export class RpcCallError extends BaseError {
  override name = "RpcCallError";
  constructor(
    readonly chainId: number,
    readonly method: string,
    message: string,
    { cause, retryable }: { cause?: unknown; retryable: boolean },
  ) {
    super(`RPC ${method} on chain ${chainId} failed: ${message}`, { cause, retryable });
  }
}

/**
 * The RPC refused an `eth_getLogs` range as too large (too many results, response too big, range too wide).
 * Not retried as is: the historical sync shrinks the range and asks again. `suggestedBlocks` is the range the
 * RPC said it would answer, when its message named one.
 */
export class LogRangeTooLargeError extends BaseError {
  override name = "LogRangeTooLargeError";
  constructor(
    readonly chainId: number,
    readonly fromBlock: bigint,
    readonly toBlock: bigint,
    readonly suggestedBlocks: bigint | undefined,
    cause: unknown,
  ) {
    super(`eth_getLogs ${fromBlock}..${toBlock} on chain ${chainId} was refused as too large`, { cause, retryable: true });
  }
}

/**
 * A reorg replaced blocks the follower no longer keeps, or blocks whose deposits were already reported as
 * confirmed. Nothing is rolled back: an operator must look (raise the confirmations or the kept window).
 */
export class DeepReorgError extends BaseError {
  override name = "DeepReorgError";
  constructor(
    readonly chainId: number,
    readonly blockNumber: bigint,
    reason: string,
  ) {
    super(`Reorg on chain ${chainId} at block ${blockNumber} is deeper than the follower can undo: ${reason}`, {
      retryable: false,
    });
  }
}

/** The RPC serves another chain than the one configured. */
export class ChainIdMismatchError extends BaseError {
  override name = "ChainIdMismatchError";
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`RPC serves chain ${actual}, the configuration says ${expected}`);
  }
}

/** Another follower moved this chain's cursor under us (two followers on one chain): reload and go on. */
export class CursorMovedError extends BaseError {
  override name = "CursorMovedError";
  constructor(
    readonly chainId: number,
    expected: string,
    actual: string,
  ) {
    super(`Cursor of chain ${chainId} is at ${actual}, this follower expected ${expected}`, { retryable: true });
  }
}

/** This process lost the chain's leadership (its lock connection dropped): it stops writing. */
export class LeadershipLostError extends BaseError {
  override name = "LeadershipLostError";
  constructor(readonly chainId: number) {
    super(`Chain ${chainId}: follower leadership lost, not writing`, { retryable: true });
  }
}
