import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getContractAddress } from "viem";
import {
  DepositKind,
  depositAddress,
  depositAddressesLower,
  depositInitCode,
  depositInitCodeHash,
  depositSalt,
} from "../src/domain/depositAddress.js";

// Vectors read from the compiled PaymentVault (predictDepositAddress / DEPOSIT_INIT_CODE_HASH) deployed by
// the first account of a fresh Hardhat network.
const VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("deposit addresses", () => {
  it("init code is the 9-byte constructor + 69-byte runtime with the vault embedded", () => {
    const code = depositInitCode(VAULT);
    assert.equal((code.length - 2) / 2, 9 + 69);
    assert.equal(depositInitCodeHash(VAULT), "0xfac9753711e2053a370231dae8c2699cacb1ab02edaa3a2f1215ae368d07da79");
  });

  it("matches PaymentVault.predictDepositAddress", () => {
    const vectors: [bigint, DepositKind, bigint, string][] = [
      [1n, 1, 0n, "0x0e9A87b6d57890813A9b1b969F59f7E80ec55d23"],
      [1n, 2, 1n, "0xBD6F8A15de9b9E9b8D93c5F086f6982DB3e5dd70"],
      [7n, 1, 123456789n, "0x620202063198425D0E9a16df4FC915eD660B06E8"],
      [(1n << 64n) - 1n, 2, (1n << 184n) - 1n, "0xb40Eb7412D4fDe815A94b430855370A147c794C4"],
    ];
    for (const [merchantId, kind, key, expected] of vectors) {
      assert.equal(depositAddress({ vault: VAULT, merchantId, kind, key }), expected);
      assert.deepEqual(
        depositAddressesLower({ vault: VAULT, merchantId, kind, first: key, count: 1 }),
        [expected.toLowerCase()],
        "the pool's batch path",
      );
    }
  });

  it("the pool's batch path equals viem's CREATE2 over a run of keys, and checks every key", () => {
    const batch = depositAddressesLower({ vault: VAULT, merchantId: 9n, kind: DepositKind.Payment, first: 250n, count: 300 });
    for (let i = 0; i < 300; i++) {
      const salt = depositSalt(9n, DepositKind.Payment, 250n + BigInt(i));
      const expected = getContractAddress({
        opcode: "CREATE2",
        from: VAULT,
        salt: `0x${salt.toString(16).padStart(64, "0")}`,
        bytecodeHash: depositInitCodeHash(VAULT),
      });
      assert.equal(batch[i], expected.toLowerCase());
    }
    assert.throws(
      () => depositAddressesLower({ vault: VAULT, merchantId: 1n, kind: DepositKind.Payment, first: (1n << 184n) - 1n, count: 2 }),
      /184 bits/,
    );
  });

  it("salt packs merchant << 192 | kind << 184 | key and refuses what the vault refuses", () => {
    assert.equal(depositSalt(1n, DepositKind.Recharge, 5n), (1n << 192n) | (2n << 184n) | 5n);
    assert.throws(() => depositSalt(0n, DepositKind.Payment, 0n), /merchant id/);
    assert.throws(() => depositSalt(1n << 64n, DepositKind.Payment, 0n), /merchant id/);
    assert.throws(() => depositSalt(1n, 0 as DepositKind, 0n), /kind/);
    assert.throws(() => depositSalt(1n, DepositKind.Payment, 1n << 184n), /184 bits/);
  });
});
