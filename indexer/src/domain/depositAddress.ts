import { concatHex, getAddress, hexToBytes, keccak256, type Address, type Hex } from "viem";
import { InvalidDepositKeyError } from "./errors.js";

/** The two kinds of deposit address (IPaymentVault.DepositKind). */
export const DepositKind = { Payment: 1, Recharge: 2 } as const;
export type DepositKind = (typeof DepositKind)[keyof typeof DepositKind];

const MAX_MERCHANT_ID = (1n << 64n) - 1n;
const MAX_KEY = (1n << 184n) - 1n;

/** Init code prefix (PUSH1 69 DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN, then PUSH20). */
const INIT_PREFIX: Hex = "0x60458060095f395ff373";
/** Runtime after the embedded vault address (contracts/libraries/DepositAddressCode.sol). */
const RUNTIME_SUFFIX: Hex = "0x80331436026024573433825f5fa3005b5f5f604036038060405f375f6020355f355af13d5f5f3e3d5f82604357fd5bf3";

/** `merchantId << 192 | kind << 184 | key`, as PaymentVault.depositSalt computes it (with its checks). */
export function depositSalt(merchantId: bigint, kind: DepositKind, key: bigint): bigint {
  if (merchantId <= 0n || merchantId > MAX_MERCHANT_ID) {
    throw new InvalidDepositKeyError(`merchant id ${merchantId} is outside 1 .. 2^64-1`);
  }
  if (kind !== DepositKind.Payment && kind !== DepositKind.Recharge) {
    throw new InvalidDepositKeyError(`deposit kind ${kind} is neither 1 (payment) nor 2 (recharge)`);
  }
  if (key < 0n || key > MAX_KEY) throw new InvalidDepositKeyError(`deposit key ${key} is wider than 184 bits`);
  return (merchantId << 192n) | (BigInt(kind) << 184n) | key;
}

/** The creation code of a deposit address commanded by `vault`. */
export function depositInitCode(vault: Address): Hex {
  return concatHex([INIT_PREFIX, vault.toLowerCase() as Hex, RUNTIME_SUFFIX]);
}

/** keccak256 of {depositInitCode}: equals the vault's `DEPOSIT_INIT_CODE_HASH`. */
export function depositInitCodeHash(vault: Address): Hex {
  return keccak256(depositInitCode(vault));
}

export type DepositAddressParameters = {
  vault: Address;
  merchantId: bigint;
  kind: DepositKind;
  key: bigint;
  /** Pass a precomputed {depositInitCodeHash} to derive many addresses cheaply. */
  initCodeHash?: Hex;
};

/** The CREATE2 address PaymentVault.predictDepositAddress returns, checksummed. */
export function depositAddress({ vault, merchantId, kind, key, initCodeHash }: DepositAddressParameters): Address {
  return getAddress(depositAddressesLower({ vault, merchantId, kind, first: key, count: 1, initCodeHash })[0]!);
}

/**
 * Many consecutive deposit addresses, lowercase (as the store keeps them): keys `first` .. `first + count
 * - 1`. CREATE2: the last 20 bytes of keccak256(0xff ‖ vault ‖ salt ‖ init-code hash), hashed from one
 * reused 85-byte buffer with only the salt rewritten, and without the checksum's second hash: a pool
 * grows by up to 1,024 addresses at a time on the request path's event loop.
 */
export function depositAddressesLower(p: {
  vault: Address;
  merchantId: bigint;
  kind: DepositKind;
  first: bigint;
  count: number;
  initCodeHash?: Hex;
}): string[] {
  const buf = new Uint8Array(85);
  buf[0] = 0xff;
  buf.set(hexToBytes(p.vault), 1);
  buf.set(hexToBytes(p.initCodeHash ?? depositInitCodeHash(p.vault)), 53);
  const out: string[] = [];
  for (let i = 0; i < p.count; i++) {
    let salt = depositSalt(p.merchantId, p.kind, p.first + BigInt(i)); // checks the range of every key
    for (let b = 52; b >= 21; b--) {
      buf[b] = Number(salt & 0xffn);
      salt >>= 8n;
    }
    out.push(`0x${keccak256(buf, "hex").slice(26)}`);
  }
  return out;
}
