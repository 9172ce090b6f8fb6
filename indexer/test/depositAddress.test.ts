import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getContractAddress } from "viem";
import { DepositKind, depositAddress, depositAddressesLower, depositInitCode, depositInitCodeHash, depositSalt } from "../src/domain/depositAddress.js";

// Vectors read from the compiled PaymentVault (predictDepositAddress / DEPOSIT_INIT_CODE_HASH) deployed by
// the first account of a fresh Hardhat network.
const VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("deposit addresses", () => {
  it("init code is the 9-byte constructor + 67-byte runtime with the vault embedded", () => {
    const code = depositInitCode(VAULT);
    assert.equal((code.length - 2) / 2, 9 + 67);
    assert.equal(depositInitCodeHash(VAULT), "0xd27f4084d3160809a816745cc5ec3d4ce082608d2ef98257b4a0b75d5ff069ef");
  });

  it("matches PaymentVault.predictDepositAddress", () => {
    const vectors: [bigint, DepositKind, bigint, string][] = [
      [1n, 1, 0n, "0x7Ef7E88f71C54cc1d62F05c4a2c0020A5F4655d9"],
      [1n, 2, 1n, "0xcCB1e4A765742c42c025C704871Cb0D6eA1bbDBE"],
      [7n, 1, 123456789n, "0x260e462aDF096bCCBe9098402AA04EDC2A4713b8"],
      [(1n << 64n) - 1n, 2, (1n << 184n) - 1n, "0x52De4149630aB303199f78a7cF00712e309899DD"],
    ];
    for (const [merchantId, kind, key, expected] of vectors) {
      assert.equal(depositAddress({ vault: VAULT, merchantId, kind, key }), expected);
      assert.deepEqual(depositAddressesLower({ vault: VAULT, merchantId, kind, first: key, count: 1 }), [expected.toLowerCase()], "the pool's batch path");
    }
  });

  it("the pool's batch path equals viem's CREATE2 over a run of keys, and checks every key", () => {
    const batch = depositAddressesLower({ vault: VAULT, merchantId: 9n, kind: DepositKind.Payment, first: 250n, count: 300 });
    for (let i = 0; i < 300; i++) {
      const salt = depositSalt(9n, DepositKind.Payment, 250n + BigInt(i));
      const expected = getContractAddress({ opcode: "CREATE2", from: VAULT, salt: `0x${salt.toString(16).padStart(64, "0")}`, bytecodeHash: depositInitCodeHash(VAULT) });
      assert.equal(batch[i], expected.toLowerCase());
    }
    assert.throws(() => depositAddressesLower({ vault: VAULT, merchantId: 1n, kind: DepositKind.Payment, first: (1n << 184n) - 1n, count: 2 }), /184 bits/);
  });

  it("salt packs merchant << 192 | kind << 184 | key and refuses what the vault refuses", () => {
    assert.equal(depositSalt(1n, DepositKind.Recharge, 5n), (1n << 192n) | (2n << 184n) | 5n);
    assert.throws(() => depositSalt(0n, DepositKind.Payment, 0n), /merchant id/);
    assert.throws(() => depositSalt(1n << 64n, DepositKind.Payment, 0n), /merchant id/);
    assert.throws(() => depositSalt(1n, 0 as DepositKind, 0n), /kind/);
    assert.throws(() => depositSalt(1n, DepositKind.Payment, 1n << 184n), /184 bits/);
  });
});
