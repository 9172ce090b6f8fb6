import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  payoutBatchDigest,
  payoutBatchTypedData,
  payoutBatchTypedDataJson,
  payoutDigest,
  payoutTypedData,
  type Payout,
  type PayoutBatch,
} from "../src/domain/payoutTypedData.js";

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

// Two payouts under one signature: a USDT withdrawal and a native refund. test/PaymentVault.batch.test.ts
// (hardhat) checks this vector against the compiled vault's hashPayoutBatch.
const BATCH: PayoutBatch = {
  merchantId: 7n,
  deadline: 1_900_000_000n,
  payouts: [
    {
      kind: 1,
      token: "0xdAC17F958D2ee523a2206206994597C13D831ec7",
      to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      amount: 12_500_000n,
      payoutId: 3n,
    },
    {
      kind: 0,
      token: "0x0000000000000000000000000000000000000000",
      to: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      amount: 10n ** 18n,
      payoutId: 4n,
    },
  ],
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

  it("hashes a batch exactly as PaymentVault.hashPayoutBatch (and an empty one)", () => {
    assert.equal(
      payoutBatchDigest({ chainId: 31337, vault: VAULT, batch: BATCH }),
      "0x1b83088b72974e9a53b15a537a0e6711ce78386bd416bf5d7307cef860c5ec8b",
    );
    assert.equal(
      payoutBatchDigest({ chainId: 31337, vault: VAULT, batch: { ...BATCH, payouts: [] } }),
      "0x3277abc689ed7e0a227727c07bc108c654b8b4eed497c4089837d34870ae437e",
    );
  });

  it("a batch signature recovers to the signer; the wallet JSON lists every recipient and amount", async () => {
    const signer = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    const typed = payoutBatchTypedData({ chainId: 31337, vault: VAULT, batch: BATCH });
    const signature = await signer.signTypedData(typed);
    assert.equal(await recoverTypedDataAddress({ ...typed, signature }), signer.address);
    const json = JSON.parse(payoutBatchTypedDataJson({ chainId: 31337, vault: VAULT, batch: BATCH }));
    assert.equal(json.primaryType, "PayoutBatch");
    assert.deepEqual(
      json.types.EIP712Domain.map((f: { name: string }) => f.name),
      ["name", "version", "chainId", "verifyingContract"],
    );
    assert.deepEqual(
      json.message.payouts.map((p: { to: string; amount: string }) => [p.to, p.amount]),
      [
        ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "12500000"],
        ["0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "1000000000000000000"],
      ],
    );
  });
});
