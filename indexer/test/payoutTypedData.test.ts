import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { payoutDigest, payoutTypedData, type Payout } from "../src/domain/payoutTypedData.js";

// hashPayout read from the compiled PaymentVault, deployed first on a fresh Hardhat network (chain 31337).
const VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PAYOUT: Payout = {
  merchantId: 7n,
  kind: 0,
  token: "0xdAC17F958D2ee523a2206206994597C13D831ec7",
  to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  amount: 12_500_000n,
  payoutId: 3n,
  deadline: 1_900_000_000n,
};

describe("payout typed data", () => {
  it("hashes exactly as PaymentVault.hashPayout", () => {
    assert.equal(
      payoutDigest({ chainId: 31337, vault: VAULT, payout: PAYOUT }),
      "0xb6ddc0e67c85adab0f7824f7743df80603816b99207b8b59fbf84a54baac5974",
    );
  });

  it("a signature over it recovers to the signer", async () => {
    const signer = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    const typed = payoutTypedData({ chainId: 31337, vault: VAULT, payout: PAYOUT });
    const signature = await signer.signTypedData(typed);
    assert.equal(await recoverTypedDataAddress({ ...typed, signature }), signer.address);
  });
});
