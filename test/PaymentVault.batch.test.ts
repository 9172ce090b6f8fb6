/**
 * Batch payouts (one EIP-712 signature over many payouts of one merchant), relays of many merchants' signed
 * payouts in one transaction, native payouts to the vault's own deposit addresses, and the recovery of tokens
 * that were never allowlisted.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { payoutBatchDigest, payoutDigest } from "../indexer/src/domain/payoutTypedData.js";
import {
  DepositKind,
  M1,
  M1_FEE,
  M2,
  NATIVE,
  PayoutKind,
  type Payout,
  type PayoutBatch,
  type PayoutItem,
  deadlineIn,
  depositAndSweep,
  depositNativeAndSweep,
  deployVault,
  expectAccount,
  feeOf,
  salt,
  signPayout,
  signPayoutBatch,
} from "./helpers/vault.js";

const { ethers, networkHelpers } = await network.create();

const IN = 1_000_000n;
const BAL = IN - feeOf(IN, M1_FEE);

/** The base vault with merchants 1 and 2 credited 1,000,000 usdc units each and merchant 1 1 ETH. */
async function funded(connection: NetworkConnection) {
  const b = await deployVault(connection);
  await depositAndSweep(b, b.usdc, M1, 1n, IN);
  await depositAndSweep(b, b.usdc, M2, 1n, IN);
  await depositNativeAndSweep(b, M1, 2n, ethers.parseEther("1"));
  return b;
}

describe("PaymentVault: batch payouts, relays, native payouts to deposit addresses, recovery", function () {
  let ctx: Awaited<ReturnType<typeof funded>>;
  const load = async () => (ctx = await networkHelpers.loadFixture(funded));

  const item = (overrides: Partial<PayoutItem> = {}): PayoutItem => ({
    kind: PayoutKind.Withdrawal,
    token: ctx.usdcAddress,
    to: ctx.alice.address,
    amount: 1_000n,
    payoutId: 1n,
    ...overrides,
  });
  const batchOf = async (payouts: PayoutItem[], overrides: Partial<PayoutBatch> = {}): Promise<PayoutBatch> => ({
    merchantId: M1,
    deadline: await deadlineIn(ethers, 3600n),
    payouts,
    ...overrides,
  });

  describe("typed data", function () {
    it("hashPayoutBatch equals the gateway's payoutBatchDigest and the vector its own test pins", async function () {
      const { vault } = await load();
      // The vector of indexer/test/payoutTypedData.test.ts (read from a vault deployed at the address it names).
      const vectorVault = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
      const batch: PayoutBatch = {
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
          { kind: 0, token: NATIVE, to: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", amount: 10n ** 18n, payoutId: 4n },
        ],
      };
      const { chainId } = await ethers.provider.getNetwork();
      const gateway = payoutBatchDigest({ chainId: Number(chainId), vault: vectorVault, batch: batch as never });
      expect(gateway).to.equal("0x1b83088b72974e9a53b15a537a0e6711ce78386bd416bf5d7307cef860c5ec8b");
      // The deployed vault at its own address agrees with the gateway's builder for the same batch.
      const vaultAddress = await vault.getAddress();
      expect(await vault.hashPayoutBatch(batch)).to.equal(
        payoutBatchDigest({ chainId: Number(chainId), vault: vaultAddress as `0x${string}`, batch: batch as never }),
      );
      expect(await vault.hashPayoutBatch({ ...batch, payouts: [] })).to.equal(
        payoutBatchDigest({ chainId: Number(chainId), vault: vaultAddress as `0x${string}`, batch: { ...batch, payouts: [] } as never }),
      );
      const p: Payout = {
        merchantId: 7n,
        kind: 0,
        token: batch.payouts[0].token,
        to: batch.payouts[0].to,
        amount: 1n,
        payoutId: 3n,
        deadline: 1n,
      };
      expect(await vault.hashPayout(p)).to.equal(
        payoutDigest({ chainId: Number(chainId), vault: vaultAddress as `0x${string}`, payout: p as never }),
      );
    });
  });

  describe("payoutBatch", function () {
    it("an item is checked as abi.encode checks it: a kind out of range or a dirty address reverts without data", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      const b = await batchOf([item({ payoutId: 1n }), item({ payoutId: 2n })]);
      const sig = await signPayoutBatch(ethers, merchant1, vaultAddress, b);
      /** `data` with its 32-byte argument word `word` (0 = the first after the selector) replaced. */
      const withWord = (data: string, word: number, f: (old: bigint) => bigint) => {
        const at = 2 + 8 + 64 * word;
        return (
          data.slice(0, at) +
          f(BigInt("0x" + data.slice(at, at + 64)))
            .toString(16)
            .padStart(64, "0") +
          data.slice(at + 64)
        );
      };
      const calls = [
        // head words, then the tuple (merchantId, deadline, offset), the array's length and two 5-word items
        { data: vault.interface.encodeFunctionData("hashPayoutBatch", [b]), second: 1 + 3 + 1 + 5 },
        { data: vault.interface.encodeFunctionData("payoutBatch", [b, sig]), second: 2 + 3 + 1 + 5 },
      ];
      for (const { data, second } of calls) {
        await ethers.provider.call({ to: vaultAddress, data }); // control: untampered, it goes through
        for (const bad of [
          withWord(data, second, () => 3n), // kind 3: PayoutKind has 0..2
          withWord(data, second + 1, (token) => token | (1n << 160n)), // token with a dirty high bit
          withWord(data, second + 2, (to) => to | (1n << 255n)), // recipient with a dirty high bit
        ]) {
          await expect(merchant1.sendTransaction({ to: vaultAddress, data: bad })).to.be.revertedWithoutReason(ethers);
        }
      }
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
    });

    it("pays every item of one signature, relayed by anyone, each id once, with PayoutExecuted per item", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, merchant1, stranger, alice, bob } = await load();
      const b = await batchOf([
        item({ to: alice.address, amount: 1_000n, payoutId: 10n }),
        item({ to: bob.address, amount: 2_000n, payoutId: 11n, kind: PayoutKind.Refund }),
        item({ token: NATIVE, to: bob.address, amount: 5n, payoutId: 12n, kind: PayoutKind.Settlement }),
      ]);
      const sig = await signPayoutBatch(ethers, merchant1, vaultAddress, b);
      const tx = vault.connect(stranger).payoutBatch(b, sig);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 10n, PayoutKind.Withdrawal, usdcAddress, alice.address, 1_000n);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 11n, PayoutKind.Refund, usdcAddress, bob.address, 2_000n);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 12n, PayoutKind.Settlement, NATIVE, bob.address, 5n);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress, alice, bob], [-3_000n, 1_000n, 2_000n]);
      await expectAccount(vault, M1, usdcAddress, BAL - 3_000n, feeOf(IN, M1_FEE));
      for (const id of [10n, 11n, 12n]) expect(await vault.isPayoutIdUsed(M1, id)).to.equal(true);
      // Relayed again: every item is skipped as used, nothing moves.
      const again = vault.connect(stranger).payoutBatch(b, sig);
      await expect(again).to.not.emit(vault, "PayoutExecuted");
      const used = (id: bigint) => vault.interface.encodeErrorResult("VaultPayoutIdUsed", [M1, id]);
      await expect(again).to.emit(vault, "PayoutSkipped").withArgs(M1, 10n, used(10n));
      await expect(again).to.changeTokenBalances(ethers, usdc, [vaultAddress], [0n]);
    });

    it("an item that cannot be paid is skipped with its reason and keeps its id; the others are paid", async function () {
      const { vault, vaultAddress, usdcAddress, merchant1, alice } = await load();
      const refusing = await ethers.deployContract("RejectingReceiver");
      const b = await batchOf([
        item({ payoutId: 1n, amount: BAL + 1n }), // more than the balance
        item({ payoutId: 2n, token: NATIVE, to: await refusing.getAddress(), amount: 1n }), // recipient refuses
        item({ payoutId: 3n, to: ethers.ZeroAddress }),
        item({ payoutId: 4n, to: vaultAddress }),
        item({ payoutId: 5n, amount: 0n }),
        item({ payoutId: 6n, amount: 7n }), // paid
        item({ payoutId: 6n, amount: 7n }), // the same id twice: once
      ]);
      const tx = vault.payoutBatch(b, await signPayoutBatch(ethers, merchant1, vaultAddress, b));
      const err = (name: string, args: unknown[] = []) => vault.interface.encodeErrorResult(name, args);
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 1n, err("VaultInsufficientBalance", [M1, usdcAddress, BAL, BAL + 1n]));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 2n, err("VaultNativeTransferFailed", [await refusing.getAddress(), 1n]));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 3n, err("VaultZeroAddress", ["to"]));
      await expect(tx).to.emit(vault, "PayoutSkipped").withArgs(M1, 4n, err("VaultRecipientIsVault"));
      await expect(tx).to.emit(vault, "PayoutSkipped").withArgs(M1, 5n, err("VaultZeroAmount"));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 6n, err("VaultPayoutIdUsed", [M1, 6n]));
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 6n, PayoutKind.Withdrawal, usdcAddress, alice.address, 7n);
      for (const id of [1n, 2n, 3n, 4n, 5n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(false);
      await expectAccount(vault, M1, usdcAddress, BAL - 7n, feeOf(IN, M1_FEE));
      await expectAccount(
        vault,
        M1,
        NATIVE,
        ethers.parseEther("1") - feeOf(ethers.parseEther("1"), M1_FEE),
        feeOf(ethers.parseEther("1"), M1_FEE),
      );
    });

    it("a token transfer that returns false is skipped with VaultTokenTransferFailed: id unused, balance back, the next item paid", async function () {
      const base = await load();
      const { vault, vaultAddress, usdcAddress, merchant1, alice, bob } = base;
      const bad = await ethers.deployContract("MockFalseReturnToken");
      const badAddress = await bad.getAddress();
      await vault.setTokenAllowed(bad, true);
      await depositAndSweep(base, bad, M1, 50n, IN);
      await bad.setFailing(true);
      const b = await batchOf([
        item({ payoutId: 1n, token: badAddress, amount: 10n }),
        item({ payoutId: 2n, to: bob.address, amount: 20n }),
      ]);
      const sig = await signPayoutBatch(ethers, merchant1, vaultAddress, b);
      const tx = vault.payoutBatch(b, sig);
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 1n, vault.interface.encodeErrorResult("VaultTokenTransferFailed", [badAddress, alice.address, 10n]));
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 2n, PayoutKind.Withdrawal, usdcAddress, bob.address, 20n);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
      await expectAccount(vault, M1, badAddress, BAL, feeOf(IN, M1_FEE));
      // The same signed batch pays the skipped item once the token behaves, and only that one.
      await bad.setFailing(false);
      const again = vault.payoutBatch(b, sig);
      await expect(again).to.emit(vault, "PayoutExecuted").withArgs(M1, 1n, PayoutKind.Withdrawal, badAddress, alice.address, 10n);
      await expect(again)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M1, 2n, vault.interface.encodeErrorResult("VaultPayoutIdUsed", [M1, 2n]));
      await expectAccount(vault, M1, badAddress, BAL - 10n, feeOf(IN, M1_FEE));
    });

    it("a refused transfer frees its id wherever it lives (the merchant slot or the bitmap), in a batch and in a relayed single", async function () {
      const { vault, vaultAddress, usdcAddress, merchant1 } = await load();
      const refusing = await (await ethers.deployContract("RejectingReceiver")).getAddress();
      const refused = (id: bigint) => [M1, id, vault.interface.encodeErrorResult("VaultNativeTransferFailed", [refusing, 1n])];
      // Id 200 moves the merchant slot to range 3: id 201 then lives in the slot, id 5 in the bitmap.
      const b = await batchOf([
        item({ payoutId: 200n, amount: 1n }),
        item({ payoutId: 5n, token: NATIVE, to: refusing, amount: 1n }),
        item({ payoutId: 201n, token: NATIVE, to: refusing, amount: 1n }),
      ]);
      const tx = vault.payoutBatch(b, await signPayoutBatch(ethers, merchant1, vaultAddress, b));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(...refused(5n));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(...refused(201n));
      const single: Payout = {
        merchantId: M1,
        kind: PayoutKind.Refund,
        token: NATIVE,
        to: refusing,
        amount: 1n,
        payoutId: 7n,
        deadline: b.deadline,
      };
      const relay = vault.relayPayouts([{ payout: single, signature: await signPayout(ethers, merchant1, vaultAddress, single) }], []);
      await expect(relay)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(...refused(7n));
      expect(await vault.isPayoutIdUsed(M1, 200n)).to.equal(true);
      for (const id of [5n, 7n, 201n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(false);
      const oneEth = ethers.parseEther("1");
      await expectAccount(vault, M1, NATIVE, oneEth - feeOf(oneEth, M1_FEE), feeOf(oneEth, M1_FEE));
      await expectAccount(vault, M1, usdcAddress, BAL - 1n, feeOf(IN, M1_FEE));
    });

    it("ids across 64-id ranges and below the slot's range, tokens alternating: each paid once, then each skipped as used", async function () {
      const { vault, vaultAddress, usdcAddress, usdc, merchant1, alice, bob } = await load();
      const ids = [62n, 63n, 64n, 65n, 3n, 130n, 66n];
      const b = await batchOf(
        ids.map((payoutId, k) =>
          item({
            payoutId,
            token: k % 2 === 0 ? usdcAddress : NATIVE,
            to: k % 3 === 0 ? alice.address : bob.address,
            amount: 5n + BigInt(k),
          }),
        ),
      );
      const sig = await signPayoutBatch(ethers, merchant1, vaultAddress, b);
      const usdcPaid = b.payouts.filter((p) => p.token === usdcAddress).reduce((a, p) => a + p.amount, 0n);
      const nativePaid = b.payouts.filter((p) => p.token === NATIVE).reduce((a, p) => a + p.amount, 0n);
      const tx = vault.payoutBatch(b, sig);
      for (const p of b.payouts) {
        await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, p.payoutId, PayoutKind.Withdrawal, p.token, p.to, p.amount);
      }
      await expect(tx).to.not.emit(vault, "PayoutSkipped");
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress], [-usdcPaid]);
      for (const id of ids) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(true);
      for (const id of [0n, 2n, 4n, 61n, 67n, 129n, 131n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(false);
      await expectAccount(vault, M1, usdcAddress, BAL - usdcPaid, feeOf(IN, M1_FEE));
      const oneEth = ethers.parseEther("1");
      await expectAccount(vault, M1, NATIVE, oneEth - feeOf(oneEth, M1_FEE) - nativePaid, feeOf(oneEth, M1_FEE));
      const again = vault.payoutBatch(b, sig);
      await expect(again).to.not.emit(vault, "PayoutExecuted");
      for (const id of ids) {
        await expect(again)
          .to.emit(vault, "PayoutSkipped")
          .withArgs(M1, id, vault.interface.encodeErrorResult("VaultPayoutIdUsed", [M1, id]));
      }
    });

    it("reverts on the batch's signature, deadline or merchant; a signature over other items fails", async function () {
      const { vault, vaultAddress, merchant1, merchant2 } = await load();
      const b = await batchOf([item({ payoutId: 1n })]);
      await expect(vault.payoutBatch(b, await signPayoutBatch(ethers, merchant2, vaultAddress, b)))
        .to.be.revertedWithCustomError(vault, "VaultInvalidSignature")
        .withArgs(M1);
      const sig = await signPayoutBatch(ethers, merchant1, vaultAddress, b);
      const changed = { ...b, payouts: [item({ payoutId: 1n, amount: 1_001n })] };
      await expect(vault.payoutBatch(changed, sig)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature");
      const expired = await batchOf([item()], { deadline: 1n });
      await expect(vault.payoutBatch(expired, await signPayoutBatch(ethers, merchant1, vaultAddress, expired)))
        .to.be.revertedWithCustomError(vault, "VaultPayoutExpired")
        .withArgs(0n, 1n, (v: bigint) => v > 1n);
      const unknown = await batchOf([item()], { merchantId: 99n });
      await expect(vault.payoutBatch(unknown, await signPayoutBatch(ethers, merchant1, vaultAddress, unknown)))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      await vault.pause();
      await expect(vault.payoutBatch(b, sig)).to.be.revertedWithCustomError(vault, "EnforcedPause");
    });

    it("an ERC-1271 signer (a contract wallet) authorises a batch", async function () {
      const b0 = await load();
      const wallet = await ethers.deployContract("ERC1271Wallet", [b0.alice.address]);
      await b0.vault.registerMerchant(3n, wallet, 0);
      await depositAndSweep(b0, b0.usdc, 3n, 1n, 10_000n);
      const b = await batchOf([item({ payoutId: 1n, to: b0.bob.address }), item({ payoutId: 2n, to: b0.bob.address })], { merchantId: 3n });
      await expect(b0.vault.payoutBatch(b, await signPayoutBatch(ethers, b0.bob, b0.vaultAddress, b))).to.be.revertedWithCustomError(
        b0.vault,
        "VaultInvalidSignature",
      );
      const tx = b0.vault.payoutBatch(b, await signPayoutBatch(ethers, b0.alice, b0.vaultAddress, b));
      await expect(tx).to.changeTokenBalances(ethers, b0.usdc, [b0.bob], [2_000n]);
      await expectAccount(b0.vault, 3n, b0.usdcAddress, 8_000n, 0n);
    });
  });

  describe("relayPayouts: many merchants in one transaction", function () {
    it("pays singles and batches of several merchants; one merchant's bad signature or expiry skips only its own", async function () {
      const { vault, vaultAddress, usdc, merchant1, merchant2, alice, bob, stranger } = await load();
      const single: Payout = {
        merchantId: M2,
        kind: PayoutKind.Refund,
        token: ctx.usdcAddress,
        to: bob.address,
        amount: 300n,
        payoutId: 1n,
        deadline: await deadlineIn(ethers, 3600n),
      };
      const forged: Payout = { ...single, payoutId: 2n, amount: 999n };
      const expiredSingle: Payout = { ...single, payoutId: 3n, deadline: 1n };
      const b1 = await batchOf([item({ payoutId: 1n, amount: 100n }), item({ payoutId: 2n, amount: 200n, to: bob.address })]);
      const b2 = await batchOf([item({ payoutId: 9n, amount: 50n })], { merchantId: M2 });
      const tx = vault.connect(stranger).relayPayouts(
        [
          { payout: single, signature: await signPayout(ethers, merchant2, vaultAddress, single) },
          { payout: forged, signature: await signPayout(ethers, merchant1, vaultAddress, forged) }, // not M2's signer
          { payout: expiredSingle, signature: await signPayout(ethers, merchant2, vaultAddress, expiredSingle) },
        ],
        [
          { batch: b1, signature: await signPayoutBatch(ethers, merchant1, vaultAddress, b1) },
          { batch: b2, signature: await signPayoutBatch(ethers, merchant1, vaultAddress, b2) }, // wrong signer
        ],
      );
      const err = (name: string, args: unknown[]) => vault.interface.encodeErrorResult(name, args);
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M2, 2n, err("VaultInvalidSignature", [M2]));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M2, 3n, err("VaultPayoutExpired", [3n, 1n, await nextTimestamp()]));
      await expect(tx)
        .to.emit(vault, "PayoutSkipped")
        .withArgs(M2, 9n, err("VaultInvalidSignature", [M2]));
      await expect(tx).to.changeTokenBalances(ethers, usdc, [alice, bob], [100n, 200n + 300n]);
      expect(await vault.isPayoutIdUsed(M2, 1n)).to.equal(true);
      expect(await vault.isPayoutIdUsed(M2, 9n)).to.equal(false);
      await expectAccount(vault, M1, ctx.usdcAddress, BAL - 300n, feeOf(IN, M1_FEE));
      await expectAccount(vault, M2, ctx.usdcAddress, IN - feeOf(IN, 250n) - 300n, feeOf(IN, 250n));
    });

    it("is stopped by pause alone", async function () {
      const { vault } = await load();
      await vault.pause();
      await expect(vault.relayPayouts([], [])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await vault.unpause();
      await expect(vault.relayPayouts([], [])).to.not.revert(ethers);
    });
  });

  describe("edges", function () {
    it("cancelPayouts spends several ids (one event each); a used id reverts the whole call; an empty list does nothing", async function () {
      const { vault, merchant1, merchant2 } = await load();
      const tx = vault.connect(merchant1).cancelPayouts(M1, [3n, 700n, 2n ** 40n]);
      for (const id of [3n, 700n, 2n ** 40n]) await expect(tx).to.emit(vault, "PayoutCancelled").withArgs(M1, id);
      for (const id of [3n, 700n, 2n ** 40n]) expect(await vault.isPayoutIdUsed(M1, id)).to.equal(true);
      await expect(vault.connect(merchant1).cancelPayouts(M1, [4n, 3n]))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 3n);
      expect(await vault.isPayoutIdUsed(M1, 4n)).to.equal(false);
      await expect(vault.connect(merchant1).cancelPayouts(M1, [])).to.not.emit(vault, "PayoutCancelled");
      await expect(vault.connect(merchant2).cancelPayouts(M1, [9n])).to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner");
    });

    it("an empty batch pays nothing; a relayed empty batch with a bad signature skips nothing", async function () {
      const { vault, vaultAddress, merchant1, merchant2 } = await load();
      const empty = await batchOf([]);
      await expect(vault.payoutBatch(empty, await signPayoutBatch(ethers, merchant1, vaultAddress, empty))).to.not.emit(
        vault,
        "PayoutExecuted",
      );
      const tx = vault.relayPayouts([], [{ batch: empty, signature: await signPayoutBatch(ethers, merchant2, vaultAddress, empty) }]);
      await expect(tx).to.not.emit(vault, "PayoutSkipped");
    });

    it("sweep refuses an amounts array of another length: VaultLengthMismatch", async function () {
      const { vault, usdcAddress, operator } = await load();
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, DepositKind.Payment, 1n)], [1n, 2n]))
        .to.be.revertedWithCustomError(vault, "VaultLengthMismatch")
        .withArgs(1n, 2n);
    });

    it("deployDepositAddresses of addresses that all have code deploys nothing", async function () {
      const { vault, operator } = await load();
      await expect(vault.connect(operator).deployDepositAddresses([salt(M1, DepositKind.Payment, 1n)])).to.not.emit(
        vault,
        "DepositAddressDeployed",
      );
    });

    it("a balance near 2**128 leaves a room smaller than the fee's: the balance bounds the credit", async function () {
      const b = await load();
      const { vault, usdc, usdcAddress, operator, alice } = b;
      await vault.registerMerchant(3n, alice, 0);
      const near = (1n << 128n) - 1_000n;
      await depositAndSweep(b, usdc, 3n, 1n, near);
      await vault.setMerchantFee(3n, 1);
      await usdc.mint(await vault.predictDepositAddress(3n, DepositKind.Payment, 1n), 999n);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(3n, DepositKind.Payment, 1n)], [999n]))
        .to.emit(vault, "Swept")
        .withArgs(3n, usdcAddress, 999n, 0n);
    });
  });

  describe("issue 11: native payouts and fee claims to the vault's own deposit addresses", function () {
    it("a native payout to a deployed deposit address of another merchant arrives and is logged like a payment", async function () {
      const { vault, vaultAddress, merchant1, operator } = await load();
      // M2's recharge address, deployed (it was swept before).
      const s = salt(M2, DepositKind.Recharge, 5n);
      const dep = await vault.predictDepositAddress(M2, DepositKind.Recharge, 5n);
      await vault.connect(operator).deployDepositAddresses([s]);
      const p: Payout = {
        merchantId: M1,
        kind: PayoutKind.Withdrawal,
        token: NATIVE,
        to: dep,
        amount: 12_345n,
        payoutId: 1n,
        deadline: await deadlineIn(ethers, 3600n),
      };
      // Before: the deposit code took the vault's empty call for a command, CALLDATASIZE - 64 wrapped and the
      // call burnt all its gas (VaultNativeTransferFailed).
      const tx = vault.payout(p, await signPayout(ethers, merchant1, vaultAddress, p), { gasLimit: 2_000_000n });
      await expect(tx).to.emit(vault, "PayoutExecuted");
      await expect(tx).to.changeEtherBalances(ethers, [vaultAddress, dep], [-12_345n, 12_345n]);
      const receipt = await (await tx).wait();
      expect(receipt!.gasUsed).to.be.lessThan(120_000n);
      // The deposit address logged it as a payment: LOG3(vault, sender = vault, value).
      const log = receipt!.logs.find((l) => l.address.toLowerCase() === dep.toLowerCase());
      expect(log!.topics).to.deep.equal([
        ethers.zeroPadValue(vaultAddress.toLowerCase(), 32),
        ethers.zeroPadValue(vaultAddress.toLowerCase(), 32),
        ethers.toBeHex(12_345n, 32),
      ]);
      // And the next native sweep credits it to M2.
      await expect(vault.connect(operator).sweep(NATIVE, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M2, NATIVE, 12_345n, feeOf(12_345n, 250n));
    });

    it("claimFees of the native coin to a fee recipient that is a deployed deposit address works", async function () {
      const { vault, admin, operator } = await load();
      const s = salt(M2, DepositKind.Payment, 6n);
      const dep = await vault.predictDepositAddress(M2, DepositKind.Payment, 6n);
      await vault.connect(operator).deployDepositAddresses([s]);
      await vault.connect(admin).setFeeRecipient(dep);
      const fee = feeOf(ethers.parseEther("1"), M1_FEE);
      await expect(vault.claimFees(NATIVE, [M1])).to.changeEtherBalances(ethers, [dep], [fee]);
    });
  });

  describe("recoverToken: what was sent straight to the vault", function () {
    it("moves a never-allowlisted token out (admin only, to a real recipient); never an allowlisted one", async function () {
      const { vault, vaultAddress, usdcAddress, admin, stranger, bob } = await load();
      const stray = await ethers.deployContract("MockERC20", ["Stray", "S", 18]);
      await stray.mint(vaultAddress, 77n);
      await expect(vault.connect(stranger).recoverToken(stray, bob)).to.be.revertedWithCustomError(
        vault,
        "AccessControlUnauthorizedAccount",
      );
      await expect(vault.connect(admin).recoverToken(stray, vaultAddress)).to.be.revertedWithCustomError(vault, "VaultRecipientIsVault");
      await expect(vault.connect(admin).recoverToken(stray, bob))
        .to.emit(vault, "VaultTokenRecovered")
        .withArgs(await stray.getAddress(), bob.address, 77n);
      expect(await stray.balanceOf(bob)).to.equal(77n);
      await expect(vault.connect(admin).recoverToken(stray, bob)).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
      // usdc was allowlisted: merchants hold balances in it. Removing it from the allowlist does not change that.
      await vault.setTokenAllowed(usdcAddress, false);
      await expect(vault.connect(admin).recoverToken(usdcAddress, bob))
        .to.be.revertedWithCustomError(vault, "VaultTokenWasAllowed")
        .withArgs(usdcAddress);
      await expect(vault.connect(admin).recoverToken(NATIVE, bob)).to.be.revertedWithCustomError(vault, "VaultTokenWasAllowed");
    });
  });

  async function nextTimestamp(): Promise<bigint> {
    return BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  }
});
