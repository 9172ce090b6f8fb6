import { parseAbi } from "viem";
import type { TokenConfig } from "../config.js";
import type { ConsoleContext } from "./context.js";

const VAULT_READS = parseAbi([
  "function accountOf(uint64 merchantId, address token) view returns (uint256 balance, uint256 feesAccrued)",
  "function merchant(uint64 merchantId) view returns ((address signer, uint16 feeBps, uint40 payoutBase, uint40 payoutBits))",
]);

export type ChainVault = {
  chainId: number;
  name: string;
  /** what the vault says, per configured token; empty when it could not be read */
  tokens: { token: TokenConfig; balance: bigint; fees: bigint }[];
  /** the signer the vault obeys for this merchant's payouts (null: not registered on this chain, or unread) */
  signer: string | null;
  /** why nothing was read: no RPC configured, or the call failed */
  error: "no_rpc" | "rpc_failed" | null;
};

/**
 * The merchant's balance and accrued fees in each chain's vault, per configured token, and the signer the
 * vault holds for it, read over each chain's RPC (in parallel; a chain that does not answer is reported, not thrown).
 */
export async function readVaults(ctx: ConsoleContext, merchantId: bigint, chainIds: readonly number[]): Promise<ChainVault[]> {
  return Promise.all(
    chainIds.map(async (chainId): Promise<ChainVault> => {
      const chain = ctx.chain(chainId)!;
      const client = ctx.client(chainId);
      const base = { chainId, name: chain.name, tokens: [], signer: null };
      if (!client) return { ...base, error: "no_rpc" };
      try {
        const [m, ...accounts] = await Promise.all([
          client.readContract({ address: chain.vault, abi: VAULT_READS, functionName: "merchant", args: [merchantId] }),
          ...chain.tokens.map((t) =>
            client.readContract({ address: chain.vault, abi: VAULT_READS, functionName: "accountOf", args: [merchantId, t.address] }),
          ),
        ]);
        const signer = (m as { signer: string }).signer;
        return {
          ...base,
          signer: /^0x0{40}$/i.test(signer) ? null : signer,
          tokens: chain.tokens.map((token, i) => {
            const [balance, fees] = accounts[i] as readonly [bigint, bigint];
            return { token, balance, fees };
          }),
          error: null,
        };
      } catch {
        return { ...base, error: "rpc_failed" };
      }
    }),
  );
}
