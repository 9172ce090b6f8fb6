/**
 * Shared fixture, constants and helpers for the PaymentVault mocha suite.
 *
 * Every test file creates its own network connection (`network.create()`) and passes the base fixture
 * below to its own `networkHelpers.loadFixture`, so files never share chain state.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { IPaymentVault, MockERC20, PaymentVault } from "../../typechain-types/index.js";
import {
  PAYOUT_BATCH_TYPES as GATEWAY_PAYOUT_BATCH_TYPES,
  PAYOUT_TYPES as GATEWAY_PAYOUT_TYPES,
} from "../../indexer/src/domain/payoutTypedData.js";

export const ZERO = ethersLib.ZeroAddress;
/** The native coin, wherever the vault expects a token. */
export const NATIVE = ethersLib.ZeroAddress;

export const DepositKind = { None: 0, Payment: 1, Recharge: 2 } as const;
export const PayoutKind = { Refund: 0, Withdrawal: 1, Settlement: 2 } as const;

export const DEPLOY_FLAG = 1n << 191n;
export const MAX_FEE_BPS = 500n;
export const MAX_TOKENS = 64n;

export const OPERATOR_ROLE = ethersLib.id("OPERATOR_ROLE");
export const MERCHANT_ADMIN_ROLE = ethersLib.id("MERCHANT_ADMIN_ROLE");
export const PAUSER_ROLE = ethersLib.id("PAUSER_ROLE");
export const DEFAULT_ADMIN_ROLE = ethersLib.ZeroHash;

/** Merchant 1 pays 1% platform fee, merchant 2 pays 2.5%. */
export const M1 = 1n;
export const M2 = 2n;
export const M1_FEE = 100n;
export const M2_FEE = 250n;

/** `merchantId << 192 | kind << 184 | key`, as {PaymentVault-depositSalt}. */
export function salt(merchantId: bigint, kind: number, key: bigint): bigint {
  return (merchantId << 192n) | (BigInt(kind) << 184n) | key;
}

/** The documented 69-byte runtime code of a deposit address commanded by `vault`. */
export function runtimeCode(vault: string): string {
  return (
    "0x73" +
    vault.slice(2).toLowerCase() +
    "803314" +
    "3602" +
    "602457" +
    "3433825f5fa300" +
    "5b5f5f60403603" +
    "8060405f37" +
    "5f6020355f355af1" +
    "3d5f5f3e3d5f82604357fd5bf3"
  );
}

/** The documented creation code: `60 45 80 60 09 5f 39 5f f3` followed by the runtime code. */
export function initCode(vault: string): string {
  return "0x6045806009" + "5f395ff3" + runtimeCode(vault).slice(2);
}

/** CREATE2 address computed off-chain: keccak256(0xff ++ vault ++ salt ++ keccak256(initCode))[12:]. */
export function computeDepositAddress(vault: string, saltValue: bigint): string {
  return ethersLib.getCreate2Address(vault, ethersLib.toBeHex(saltValue, 32), ethersLib.keccak256(initCode(vault)));
}

/** Fee the vault takes from a credit of `amount` at `feeBps` (rounded down). */
export function feeOf(amount: bigint, feeBps: bigint): bigint {
  return (amount * feeBps) / 10_000n;
}

/** The vault's EIP-712 Payout type, from the gateway's one definition (a mutable copy, as ethers wants). */
export const PAYOUT_TYPES = { Payout: [...GATEWAY_PAYOUT_TYPES.Payout] };

/** The vault's EIP-712 PayoutBatch type, from the gateway's one definition. */
export const PAYOUT_BATCH_TYPES = {
  PayoutBatch: [...GATEWAY_PAYOUT_BATCH_TYPES.PayoutBatch],
  PayoutItem: [...GATEWAY_PAYOUT_BATCH_TYPES.PayoutItem],
};

export type PayoutItem = { kind: number; token: string; to: string; amount: bigint; payoutId: bigint };
export type PayoutBatch = { merchantId: bigint; deadline: bigint; payouts: PayoutItem[] };

/** The merchant signer's EIP-712 signature of the batch `b` for `vault`. */
export async function signPayoutBatch(ethers: HardhatEthers, signer: HardhatEthersSigner, vault: string, b: PayoutBatch): Promise<string> {
  return signer.signTypedData(await payoutDomain(ethers, vault), PAYOUT_BATCH_TYPES, b);
}

export type Payout = {
  merchantId: bigint;
  kind: number;
  token: string;
  to: string;
  amount: bigint;
  payoutId: bigint;
  deadline: bigint;
};

export async function payoutDomain(ethers: HardhatEthers, verifyingContract: string) {
  const { chainId } = await ethers.provider.getNetwork();
  return { name: "PaymentVault", version: "1", chainId, verifyingContract };
}

/** The merchant signer's EIP-712 signature of `p` for `vault`. */
export async function signPayout(ethers: HardhatEthers, signer: HardhatEthersSigner, vault: string, p: Payout): Promise<string> {
  return signer.signTypedData(await payoutDomain(ethers, vault), PAYOUT_TYPES, p);
}

export async function deadlineIn(ethers: HardhatEthers, seconds: bigint): Promise<bigint> {
  const block = await ethers.provider.getBlock("latest");
  return BigInt(block!.timestamp) + seconds;
}

/** `accountOf` as `{ balance, fees }`. */
export async function account(vault: PaymentVault, merchantId: bigint, token: string) {
  const [balance, fees] = await vault.accountOf(merchantId, token);
  return { balance, fees };
}

/** Asserts a merchant's ledger entry. */
export async function expectAccount(vault: PaymentVault, merchantId: bigint, token: string, balance: bigint, fees: bigint) {
  const a = await account(vault, merchantId, token);
  expect(a, `accountOf(${merchantId}, ${token})`).to.deep.equal({ balance, fees });
}

/**
 * The base fixture: a vault with two registered merchants (1% and 2.5% fee), a 6-decimal standard ERC-20
 * ("usdc") and the native coin allowlisted.
 */
export async function deployVault({ ethers }: NetworkConnection) {
  const [admin, operator, feeRecipient, merchant1, merchant2, payer, alice, bob, stranger] = await ethers.getSigners();
  const vault: PaymentVault = await ethers.deployContract("PaymentVault", [admin, operator, feeRecipient]);
  const vaultAddress = await vault.getAddress();
  const usdc: MockERC20 = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const usdcAddress = await usdc.getAddress();
  await vault.setTokenAllowed(usdc, true);
  await vault.setTokenAllowed(NATIVE, true);
  await vault.registerMerchant(M1, merchant1, M1_FEE);
  await vault.registerMerchant(M2, merchant2, M2_FEE);
  return {
    ethers,
    vault,
    vaultAddress,
    usdc,
    usdcAddress,
    admin,
    operator,
    feeRecipient,
    merchant1,
    merchant2,
    payer,
    alice,
    bob,
    stranger,
  };
}

export type Base = Awaited<ReturnType<typeof deployVault>>;

/** A standard-token deposit to `(merchantId, Payment, key)` swept with DEPLOY_FLAG; returns the address. */
export async function depositAndSweep(
  base: Base,
  token: { mint(to: string, amount: bigint): Promise<unknown>; getAddress(): Promise<string> },
  merchantId: bigint,
  key: bigint,
  amount: bigint,
): Promise<string> {
  const s = salt(merchantId, DepositKind.Payment, key);
  const addr = await base.vault.predictDepositAddress(merchantId, DepositKind.Payment, key);
  await token.mint(addr, amount);
  const code = await base.ethers.provider.getCode(addr);
  await base.vault.connect(base.operator).sweep(await token.getAddress(), [code === "0x" ? s | DEPLOY_FLAG : s], []);
  return addr;
}

/** A native-coin deposit (from `payer`) to `(merchantId, Payment, key)`, swept; returns the address. */
export async function depositNativeAndSweep(base: Base, merchantId: bigint, key: bigint, amount: bigint) {
  const s = salt(merchantId, DepositKind.Payment, key);
  const addr = await base.vault.predictDepositAddress(merchantId, DepositKind.Payment, key);
  await base.payer.sendTransaction({ to: addr, value: amount });
  const code = await base.ethers.provider.getCode(addr);
  await base.vault.connect(base.operator).sweep(NATIVE, [code === "0x" ? s | DEPLOY_FLAG : s], []);
  return addr;
}

export function payoutStruct(p: Payout): IPaymentVault.PayoutStruct {
  return { ...p };
}
