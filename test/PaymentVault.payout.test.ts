import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import {
  DEPLOY_FLAG,
  DepositKind,
  M1,
  M1_FEE,
  M2,
  NATIVE,
  PAYOUT_TYPES,
  PayoutKind,
  ZERO,
  type Payout,
  computeDepositAddress,
  deadlineIn,
  depositAndSweep,
  depositNativeAndSweep,
  deployVault,
  expectAccount,
  feeOf,
  payoutDomain,
  salt,
  signPayout,
} from "./helpers/vault.js";

const { ethers, networkHelpers } = await network.create();

const USDC_IN = 1_000_000n;
const USDC_FEE = feeOf(USDC_IN, M1_FEE);
const USDC_BAL = USDC_IN - USDC_FEE;
const ETH_IN = ethers.parseEther("1");
const ETH_FEE = feeOf(ETH_IN, M1_FEE);
const ETH_BAL = ETH_IN - ETH_FEE;

/** The base vault with merchant 1 credited 1,000,000 usdc units and 1 ETH (1% fee each). */
async function fundedVault(connection: NetworkConnection) {
  const b = await deployVault(connection);
  await depositAndSweep(b, b.usdc, M1, 1n, USDC_IN);
  await depositNativeAndSweep(b, M1, 2n, ETH_IN);
  return b;
}

describe("PaymentVault: payouts, fees and rescues", function () {
  let ctx: Awaited<ReturnType<typeof fundedVault>>;
  const load = async () => (ctx = await networkHelpers.loadFixture(fundedVault));

  /** A payout of merchant 1's usdc to alice; call after load() (it does not reload the fixture). */
  async function payoutOf(overrides: Partial<Payout> = {}): Promise<Payout> {
    const { usdcAddress, alice } = ctx;
    return {
      merchantId: M1,
      kind: PayoutKind.Refund,
      token: usdcAddress,
      to: alice.address,
      amount: 100_000n,
      payoutId: 1n,
      deadline: await deadlineIn(ethers, 3600n),
      ...overrides,
    };
  }

  describe("EIP-712", function () {
    it("hashPayout equals ethers.TypedDataEncoder.hash over the documented domain and type", async function () {
      const { vault, vaultAddress } = await load();
      const domain = await payoutDomain(ethers, vaultAddress);
      for (const p of [
        await payoutOf(),
        await payoutOf({ kind: PayoutKind.Settlement, token: NATIVE, amount: 1n, payoutId: 0n, deadline: 0n }),
        await payoutOf({ merchantId: (1n << 64n) - 1n, amount: (1n << 256n) - 1n, payoutId: 12345n }),
      ]) {
        expect(await vault.hashPayout(p)).to.equal(ethers.TypedDataEncoder.hash(domain, PAYOUT_TYPES, p));
      }
    });

    it("the signature of the merchant's signer recovers to it over hashPayout", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      const p = await payoutOf();
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      expect(ethers.recoverAddress(await vault.hashPayout(p), sig)).to.equal(merchant1.address);
    });
  });

  describe("payout (signed, relayed by anyone)", function () {
    it("pays a token out, debits only the balance, marks the id used and emits PayoutExecuted", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, merchant1, stranger, alice } = await load();
      const p = await payoutOf({ kind: PayoutKind.Withdrawal, amount: 400_000n, payoutId: 1n });
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
      const tx = vault.connect(stranger).payout(p, sig);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 1n, PayoutKind.Withdrawal, usdcAddress, alice.address, 400_000n);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress, alice, stranger], [-400_000n, 400_000n, 0n]);
      await expectAccount(vault, M1, usdcAddress, USDC_BAL - 400_000n, USDC_FEE);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(true);
      const m = await vault.merchant(M1);
      expect([m.payoutRange, m.payoutBits]).to.deep.equal([0n, 2n]);
    });

    it("pays the native coin out", async function () {
      const { vault, vaultAddress, merchant1, bob } = await load();
      const p = await payoutOf({ token: NATIVE, to: bob.address, amount: ETH_BAL, kind: PayoutKind.Settlement });
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      const tx = vault.payout(p, sig);
      await expect(tx).to.changeEtherBalances(ethers, [vaultAddress, bob], [-ETH_BAL, ETH_BAL]);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 1n, PayoutKind.Settlement, NATIVE, bob.address, ETH_BAL);
      await expectAccount(vault, M1, NATIVE, 0n, ETH_FEE);
      expect(await ethers.provider.getBalance(vaultAddress)).to.equal(ETH_FEE);
    });

    it("accepts a payout whose deadline is the block's timestamp; reverts VaultPayoutExpired one second later", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      const p1 = await payoutOf({ deadline: now + 10n });
      await networkHelpers.time.setNextBlockTimestamp(now + 10n);
      await expect(vault.payout(p1, await signPayout(ethers, merchant1, vaultAddress, p1))).to.emit(vault, "PayoutExecuted");
      const p2 = await payoutOf({ payoutId: 2n, deadline: now + 20n });
      await networkHelpers.time.setNextBlockTimestamp(now + 21n);
      await expect(vault.payout(p2, await signPayout(ethers, merchant1, vaultAddress, p2)))
        .to.be.revertedWithCustomError(vault, "VaultPayoutExpired")
        .withArgs(2n, now + 20n, now + 21n);
      expect(await vault.isPayoutIdUsed(M1, 2n)).to.equal(false);
    });

    it("rejects a signature by anyone but the merchant's signer: VaultInvalidSignature", async function () {
      const { vault, vaultAddress, merchant2, stranger } = await load();
      const p = await payoutOf();
      for (const who of [stranger, merchant2]) {
        await expect(vault.payout(p, await signPayout(ethers, who, vaultAddress, p)))
          .to.be.revertedWithCustomError(vault, "VaultInvalidSignature")
          .withArgs(M1);
      }
    });

    it("rejects a signature of other payout fields, another domain, or malformed bytes", async function () {
      const { vault, vaultAddress, merchant1, admin, operator, feeRecipient } = await load();
      const p = await payoutOf();
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      for (const changed of [
        { amount: p.amount + 1n },
        { to: merchant1.address },
        { payoutId: 2n },
        { deadline: p.deadline + 1n },
        { kind: PayoutKind.Withdrawal },
        { token: NATIVE },
      ]) {
        await expect(vault.payout({ ...p, ...changed }, sig))
          .to.be.revertedWithCustomError(vault, "VaultInvalidSignature")
          .withArgs(M1);
      }
      // Another vault's domain.
      const other = await ethers.deployContract("PaymentVault", [admin, operator, feeRecipient]);
      const otherSig = await signPayout(ethers, merchant1, await other.getAddress(), p);
      await expect(vault.payout(p, otherSig)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature").withArgs(M1);
      // Another chain id.
      const wrongChain = await merchant1.signTypedData({ ...(await payoutDomain(ethers, vaultAddress)), chainId: 1n }, PAYOUT_TYPES, p);
      await expect(vault.payout(p, wrongChain)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature").withArgs(M1);
      // Malformed: empty, truncated, high-s.
      const { r, s, v } = ethers.Signature.from(sig);
      const n = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
      const highS = ethers.concat([r, ethers.toBeHex(n - BigInt(s), 32), ethers.toBeHex(v === 27 ? 28 : 27, 1)]);
      for (const bad of ["0x", ethers.dataSlice(sig, 0, 64), highS]) {
        await expect(vault.payout(p, bad)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature").withArgs(M1);
      }
      await expectAccount(vault, M1, p.token, USDC_BAL, USDC_FEE);
    });

    it("after setMerchantSigner the old signer's signatures stop working and the new signer's work", async function () {
      const { vault, vaultAddress, merchant1, bob } = await load();
      const p = await payoutOf();
      const oldSig = await signPayout(ethers, merchant1, vaultAddress, p);
      await vault.connect(merchant1).setMerchantSigner(M1, bob);
      await expect(vault.payout(p, oldSig)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature").withArgs(M1);
      await expect(vault.payout(p, await signPayout(ethers, bob, vaultAddress, p))).to.emit(vault, "PayoutExecuted");
    });

    it("refuses a replay: VaultPayoutIdUsed, also for another payout reusing the id", async function () {
      const { vault, vaultAddress, usdc, merchant1, alice } = await load();
      const p = await payoutOf();
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      await vault.payout(p, sig);
      await expect(vault.payout(p, sig)).to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed").withArgs(M1, 1n);
      const p2 = await payoutOf({ amount: 1n });
      await expect(vault.payout(p2, await signPayout(ethers, merchant1, vaultAddress, p2)))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 1n);
      await expect(vault.connect(merchant1).payoutByMerchant(p2))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 1n);
      expect(await usdc.balanceOf(alice)).to.equal(p.amount);
      await expectAccount(vault, M1, p.token, USDC_BAL - p.amount, USDC_FEE);
    });

    it("payout ids are per merchant", async function () {
      const b = await load();
      const { vault, vaultAddress, usdc, merchant1, merchant2 } = b;
      await depositAndSweep(b, usdc, M2, 1n, 10_000n);
      const p1 = await payoutOf({ amount: 10n });
      const p2 = await payoutOf({ merchantId: M2, amount: 10n });
      await vault.payout(p1, await signPayout(ethers, merchant1, vaultAddress, p1));
      await expect(vault.payout(p2, await signPayout(ethers, merchant2, vaultAddress, p2))).to.emit(vault, "PayoutExecuted");
    });

    it("reverts VaultUnknownMerchant, VaultZeroAddress('to'), VaultZeroAmount and VaultInsufficientBalance", async function () {
      const { vault, vaultAddress, usdcAddress, merchant1, merchant2 } = await load();
      const sign = async (p: Payout, who = merchant1) => signPayout(ethers, who, vaultAddress, p);
      const unknown = await payoutOf({ merchantId: 99n });
      await expect(vault.payout(unknown, await sign(unknown)))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      const toZero = await payoutOf({ to: ZERO });
      await expect(vault.payout(toZero, await sign(toZero)))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("to");
      const toVault = await payoutOf({ to: vaultAddress });
      await expect(vault.payout(toVault, await sign(toVault))).to.be.revertedWithCustomError(vault, "VaultRecipientIsVault");
      const zero = await payoutOf({ amount: 0n });
      await expect(vault.payout(zero, await sign(zero))).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
      const tooMuch = await payoutOf({ amount: USDC_BAL + 1n });
      await expect(vault.payout(tooMuch, await sign(tooMuch)))
        .to.be.revertedWithCustomError(vault, "VaultInsufficientBalance")
        .withArgs(M1, usdcAddress, USDC_BAL, USDC_BAL + 1n);
      // Accrued fees are not the merchant's: the balance is the limit even though the vault holds more.
      expect(await ctx.usdc.balanceOf(vaultAddress)).to.equal(USDC_IN);
      // Merchant 2 has nothing, though the vault holds merchant 1's tokens.
      const m2 = await payoutOf({ merchantId: M2, amount: 1n });
      await expect(vault.payout(m2, await sign(m2, merchant2)))
        .to.be.revertedWithCustomError(vault, "VaultInsufficientBalance")
        .withArgs(M2, usdcAddress, 0n, 1n);
      // A failed payout does not spend its id.
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
      // The exact balance can be paid out.
      const all = await payoutOf({ amount: USDC_BAL });
      await expect(vault.payout(all, await sign(all))).to.emit(vault, "PayoutExecuted");
      await expectAccount(vault, M1, usdcAddress, 0n, USDC_FEE);
    });

    it("native payout to a contract that refuses it reverts VaultNativeTransferFailed and changes nothing", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      const rejecting = await ethers.deployContract("RejectingReceiver");
      const p = await payoutOf({ token: NATIVE, to: await rejecting.getAddress(), amount: 1000n });
      await expect(vault.payout(p, await signPayout(ethers, merchant1, vaultAddress, p)))
        .to.be.revertedWithCustomError(vault, "VaultNativeTransferFailed")
        .withArgs(await rejecting.getAddress(), 1000n);
      await expectAccount(vault, M1, NATIVE, ETH_BAL, ETH_FEE);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
    });
  });

  describe("payoutByMerchant", function () {
    it("pays when called by the merchant's signer, without a signature", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, merchant1, bob } = await load();
      const p = await payoutOf({ to: bob.address, amount: 5_000n, payoutId: 7n });
      const tx = vault.connect(merchant1).payoutByMerchant(p);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 7n, PayoutKind.Refund, usdcAddress, bob.address, 5_000n);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress, bob], [-5_000n, 5_000n]);
      await expectAccount(vault, M1, usdcAddress, USDC_BAL - 5_000n, USDC_FEE);
      expect(await vault.isPayoutIdUsed(M1, 7n)).to.equal(true);
    });

    it("reverts VaultNotMerchantSigner for anyone else and VaultUnknownMerchant for an unknown id", async function () {
      const { vault, merchant2, stranger } = await load();
      const p = await payoutOf();
      for (const who of [merchant2, stranger]) {
        await expect(vault.connect(who).payoutByMerchant(p))
          .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
          .withArgs(M1, who.address);
      }
      await expect(vault.connect(stranger).payoutByMerchant({ ...p, merchantId: 99n }))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
    });

    it("applies the same deadline, recipient, amount and balance checks", async function () {
      const { vault, usdcAddress, merchant1 } = await load();
      const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      await networkHelpers.time.setNextBlockTimestamp(now + 5n);
      await expect(vault.connect(merchant1).payoutByMerchant(await payoutOf({ deadline: now + 4n })))
        .to.be.revertedWithCustomError(vault, "VaultPayoutExpired")
        .withArgs(1n, now + 4n, now + 5n);
      await expect(vault.connect(merchant1).payoutByMerchant(await payoutOf({ to: ZERO })))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("to");
      await expect(vault.connect(merchant1).payoutByMerchant(await payoutOf({ amount: 0n }))).to.be.revertedWithCustomError(
        vault,
        "VaultZeroAmount",
      );
      await expect(vault.connect(merchant1).payoutByMerchant(await payoutOf({ amount: USDC_BAL + 1n })))
        .to.be.revertedWithCustomError(vault, "VaultInsufficientBalance")
        .withArgs(M1, usdcAddress, USDC_BAL, USDC_BAL + 1n);
    });
  });

  describe("ERC-1271 contract signer", function () {
    async function walletMerchant() {
      const b = await load();
      const wallet = await b.ethers.deployContract("ERC1271Wallet", [b.alice.address]);
      await b.vault.registerMerchant(3n, wallet, 50);
      await depositAndSweep(b, b.usdc, 3n, 1n, 100_000n);
      return { ...b, wallet };
    }

    it("accepts a payout signed by the wallet's owner (ERC-1271) and rejects another key's signature", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, alice, bob } = await walletMerchant();
      const p = await payoutOf({ merchantId: 3n, to: bob.address, amount: 99_500n });
      await expect(vault.payout(p, await signPayout(ethers, bob, vaultAddress, p)))
        .to.be.revertedWithCustomError(vault, "VaultInvalidSignature")
        .withArgs(3n);
      const tx = vault.connect(bob).payout(p, await signPayout(ethers, alice, vaultAddress, p));
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(3n, 1n, PayoutKind.Refund, usdcAddress, bob.address, 99_500n);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress, bob], [-99_500n, 99_500n]);
      await expectAccount(vault, 3n, usdcAddress, 0n, 500n);
    });

    it("the wallet can call payoutByMerchant, cancelPayout and setMerchantSigner itself", async function () {
      const { vault, vaultAddress, usdcAddress, wallet, alice, bob } = await walletMerchant();
      const walletAddress = await wallet.getAddress();
      const p = await payoutOf({ merchantId: 3n, to: bob.address, amount: 1_000n, payoutId: 4n });
      await expect(wallet.connect(alice).execute(vaultAddress, vault.interface.encodeFunctionData("payoutByMerchant", [p])))
        .to.emit(vault, "PayoutExecuted")
        .withArgs(3n, 4n, PayoutKind.Refund, usdcAddress, bob.address, 1_000n);
      await expect(wallet.connect(alice).execute(vaultAddress, vault.interface.encodeFunctionData("cancelPayout", [3n, 5n])))
        .to.emit(vault, "PayoutCancelled")
        .withArgs(3n, 5n);
      await expect(wallet.connect(alice).execute(vaultAddress, vault.interface.encodeFunctionData("setMerchantSigner", [3n, bob.address])))
        .to.emit(vault, "MerchantSignerChanged")
        .withArgs(3n, walletAddress, bob.address);
      // The wallet owner's signatures no longer count.
      const p2 = await payoutOf({ merchantId: 3n, amount: 1n, payoutId: 6n });
      await expect(vault.payout(p2, await signPayout(ethers, alice, vaultAddress, p2)))
        .to.be.revertedWithCustomError(vault, "VaultInvalidSignature")
        .withArgs(3n);
    });
  });

  describe("payout ids: the merchant slot's 64-id range and the bitmap", function () {
    async function slotOf(vault: Awaited<ReturnType<typeof load>>["vault"]) {
      const m = await vault.merchant(M1);
      return { range: m.payoutRange, bits: m.payoutBits };
    }
    const pay = async (id: bigint) => {
      await ctx.vault.connect(ctx.merchant1).payoutByMerchant(await payoutOf({ payoutId: id, amount: 1n }));
    };

    it("pays ids of the slot's range in any order, in the slot only", async function () {
      const { vault } = await load();
      for (const id of [5n, 3n, 63n, 0n]) await pay(id);
      expect(await slotOf(vault)).to.deep.equal({ range: 0n, bits: (1n << 5n) | (1n << 3n) | (1n << 63n) | 1n });
      for (let id = 0n; id < 66n; id++) {
        expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal([0n, 3n, 5n, 63n].includes(id));
      }
    });

    it("issue 11: a higher id paid first moves the slot up and leaves every lower unpaid id payable (none spent)", async function () {
      const { vault, vaultAddress, merchant1, stranger } = await load();
      await pay(1n);
      await pay(2n);
      // Before: paying id >= k + 40 first spent k unpaid, with no event. Relayed by anyone:
      const high = await payoutOf({ payoutId: 1_000n, amount: 1n });
      await vault.connect(stranger).payout(high, await signPayout(ethers, merchant1, vaultAddress, high));
      expect(await slotOf(vault)).to.deep.equal({ range: 15n, bits: 1n << 40n }); // 1000 = 15 * 64 + 40
      for (const id of [0n, 3n, 960n, 999n, 1001n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(false);
      for (const id of [1n, 2n, 1000n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(true);
      // The lower ids are still payable (from the bitmap), once.
      const low = await payoutOf({ payoutId: 0n, amount: 1n });
      await expect(vault.connect(stranger).payout(low, await signPayout(ethers, merchant1, vaultAddress, low)))
        .to.emit(vault, "PayoutExecuted")
        .withArgs(M1, 0n, PayoutKind.Refund, anyAddress, anyAddress, 1n);
      await expect(vault.connect(merchant1).payoutByMerchant(await payoutOf({ payoutId: 1n, amount: 1n })))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 1n);
      await pay(3n);
      expect(await vault.isPayoutIdUsed(M1, 3n)).to.equal(true);
      expect(await slotOf(vault)).to.deep.equal({ range: 15n, bits: 1n << 40n });
    });

    it("moving the slot back up reads the range's bits from the bitmap: a paid id stays paid", async function () {
      const { vault } = await load();
      await pay(130n); // range 2 in the slot
      await pay(70n); // range 1: bitmap
      await pay(200n); // range 3: range 2 goes to the bitmap
      await expect(vault.connect(ctx.merchant1).payoutByMerchant(await payoutOf({ payoutId: 130n, amount: 1n })))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 130n);
      await expect(vault.connect(ctx.merchant1).payoutByMerchant(await payoutOf({ payoutId: 70n, amount: 1n })))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 70n);
      await pay(300n); // range 4 (bitmap word 1): range 3 written to word 0
      expect(await slotOf(vault)).to.deep.equal({ range: 4n, bits: 1n << 44n });
      for (const id of [70n, 130n, 200n, 300n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(true);
      for (const id of [71n, 131n, 199n, 301n]) expect(await vault.isPayoutIdUsed(M1, id), `id ${id}`).to.equal(false);
    });

    it("ids beyond the slot's reach (range >= 2**16) and up to 2**256 - 1 are paid from the bitmap, once", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      for (const id of [1n << 22n, (1n << 256n) - 1n, 1n << 200n]) {
        const p = await payoutOf({ payoutId: id, amount: 1n });
        const sig = await signPayout(ethers, merchant1, vaultAddress, p);
        await expect(vault.payout(p, sig)).to.emit(vault, "PayoutExecuted");
        await expect(vault.payout(p, sig)).to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed").withArgs(M1, id);
        expect(await vault.isPayoutIdUsed(M1, id)).to.equal(true);
      }
      expect(await slotOf(vault)).to.deep.equal({ range: 0n, bits: 0n });
      await pay((1n << 22n) - 1n); // the slot's last range
      expect(await slotOf(vault)).to.deep.equal({ range: (1n << 16n) - 1n, bits: 1n << 63n });
    });
  });

  describe("cancelPayout", function () {
    it("spends an unpaid id (PayoutCancelled); the payout can then no longer execute", async function () {
      const { vault, vaultAddress, merchant1 } = await load();
      const p = await payoutOf({ payoutId: 3n });
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      await expect(vault.connect(merchant1).cancelPayout(M1, 3n)).to.emit(vault, "PayoutCancelled").withArgs(M1, 3n);
      expect(await vault.isPayoutIdUsed(M1, 3n)).to.equal(true);
      await expect(vault.payout(p, sig)).to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed").withArgs(M1, 3n);
      await expect(vault.connect(merchant1).cancelPayout(M1, 3n))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 3n);
      await expectAccount(vault, M1, p.token, USDC_BAL, USDC_FEE);
    });

    it("cannot cancel a paid id; only the signer may cancel; unknown merchant reverts", async function () {
      const { vault, merchant1, merchant2 } = await load();
      await vault.connect(merchant1).payoutByMerchant(await payoutOf({ payoutId: 1n }));
      await expect(vault.connect(merchant1).cancelPayout(M1, 1n))
        .to.be.revertedWithCustomError(vault, "VaultPayoutIdUsed")
        .withArgs(M1, 1n);
      await expect(vault.connect(merchant2).cancelPayout(M1, 2n))
        .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
        .withArgs(M1, merchant2.address);
      await expect(vault.connect(merchant2).cancelPayout(99n, 2n))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
    });
  });

  describe("non-standard tokens", function () {
    it("pays out a USDT-style token (no return value); with its fee on, the recipient gets less and the ledger the full debit", async function () {
      const b = await load();
      const { vault, vaultAddress, admin, merchant1, bob } = b;
      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      const usdtAddress = await usdt.getAddress();
      await vault.setTokenAllowed(usdt, true);
      await depositAndSweep(b, usdt, M1, 5n, 1_000_000n);
      const bal = 1_000_000n - 10_000n;
      const p = await payoutOf({ token: usdtAddress, to: bob.address, amount: 100_000n });
      const tx = vault.payout(p, await signPayout(ethers, merchant1, vaultAddress, p));
      await expect(tx).to.changeTokenBalances(ethers, usdt, [vaultAddress, bob], [-100_000n, 100_000n]);
      await expectAccount(vault, M1, usdtAddress, bal - 100_000n, 10_000n);

      await usdt.connect(admin).setParams(10, 50n); // 0.1%, max 50
      const p2 = await payoutOf({ token: usdtAddress, to: bob.address, amount: 200_000n, payoutId: 2n });
      await expect(vault.connect(merchant1).payoutByMerchant(p2)).to.changeTokenBalances(
        ethers,
        usdt,
        [vaultAddress, bob, admin],
        [-200_000n, 200_000n - 50n, 50n],
      );
      await expectAccount(vault, M1, usdtAddress, bal - 300_000n, 10_000n);
    });

    it("a token transfer that fails or returns false reverts VaultTokenTransferFailed and changes nothing", async function () {
      const b = await load();
      const { vault, admin, merchant1, bob } = b;
      const ft = await ethers.deployContract("MockFalseReturnToken");
      const ftAddress = await ft.getAddress();
      await vault.setTokenAllowed(ft, true);
      await depositAndSweep(b, ft, M1, 5n, 10_000n);
      await ft.setFailing(true);
      const p = await payoutOf({ token: ftAddress, to: bob.address, amount: 1_000n });
      await expect(vault.connect(merchant1).payoutByMerchant(p))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(ftAddress, bob.address, 1_000n);
      await expectAccount(vault, M1, ftAddress, 9_900n, 100n);

      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      const usdtAddress = await usdt.getAddress();
      await vault.setTokenAllowed(usdt, true);
      await depositAndSweep(b, usdt, M1, 6n, 10_000n);
      await usdt.connect(admin).setPaused(true); // transfer reverts without data
      const p2 = await payoutOf({ token: usdtAddress, to: bob.address, amount: 1_000n });
      await expect(vault.connect(merchant1).payoutByMerchant(p2))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(usdtAddress, bob.address, 1_000n);
      await expectAccount(vault, M1, usdtAddress, 9_900n, 100n);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
    });
  });

  describe("claimFees", function () {
    it("pays the merchants' accrued fees to the fee recipient, zeroes them and emits FeesClaimed", async function () {
      const b = await load();
      const { vault, vaultAddress, usdc, usdcAddress, feeRecipient, stranger } = b;
      await depositAndSweep(b, usdc, M2, 1n, 400_000n); // 2.5% = 10,000
      const total = USDC_FEE + 10_000n;
      const tx = vault.connect(stranger).claimFees(usdcAddress, [M1, M2, M1, 99n]);
      await expect(tx).to.emit(vault, "FeesClaimed").withArgs(usdcAddress, feeRecipient.address, total);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [vaultAddress, feeRecipient, stranger], [-total, total, 0n]);
      await expectAccount(vault, M1, usdcAddress, USDC_BAL, 0n);
      await expectAccount(vault, M2, usdcAddress, 400_000n - 10_000n, 0n);
      // Nothing left: VaultZeroAmount.
      await expect(vault.claimFees(usdcAddress, [M1, M2])).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
      // The vault still holds exactly the merchants' balances.
      expect(await usdc.balanceOf(vaultAddress)).to.equal(USDC_BAL + 390_000n);
    });

    it("claims for a subset of merchants only", async function () {
      const b = await load();
      const { vault, usdc, usdcAddress, feeRecipient } = b;
      await depositAndSweep(b, usdc, M2, 1n, 400_000n);
      await expect(vault.claimFees(usdcAddress, [M2])).to.changeTokenBalance(ethers, usdc, feeRecipient, 10_000n);
      await expectAccount(vault, M1, usdcAddress, USDC_BAL, USDC_FEE);
    });

    it("claims native-coin fees", async function () {
      const { vault, vaultAddress, feeRecipient } = await load();
      const tx = vault.claimFees(NATIVE, [M1]);
      await expect(tx).to.emit(vault, "FeesClaimed").withArgs(NATIVE, feeRecipient.address, ETH_FEE);
      await expect(tx).to.changeEtherBalances(ethers, [vaultAddress, feeRecipient], [-ETH_FEE, ETH_FEE]);
      await expectAccount(vault, M1, NATIVE, ETH_BAL, 0n);
    });

    it("reverts VaultZeroAmount for an empty list, unknown merchants, or a token with no fees", async function () {
      const { vault, usdcAddress, stranger } = await load();
      await expect(vault.claimFees(usdcAddress, [])).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
      await expect(vault.claimFees(usdcAddress, [99n, 0n])).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
      await expect(vault.claimFees(stranger.address, [M1])).to.be.revertedWithCustomError(vault, "VaultZeroAmount");
    });

    it("pays the current fee recipient after setFeeRecipient", async function () {
      const { vault, usdc, usdcAddress, admin, bob, feeRecipient } = await load();
      await vault.connect(admin).setFeeRecipient(bob);
      const tx = vault.claimFees(usdcAddress, [M1]);
      await expect(tx).to.emit(vault, "FeesClaimed").withArgs(usdcAddress, bob.address, USDC_FEE);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [bob, feeRecipient], [USDC_FEE, 0n]);
    });

    it("a recipient refusing the native coin reverts VaultNativeTransferFailed; a failing token VaultTokenTransferFailed", async function () {
      const b = await load();
      const { vault, admin } = b;
      const rejecting = await ethers.deployContract("RejectingReceiver");
      const rejectingAddress = await rejecting.getAddress();
      await vault.connect(admin).setFeeRecipient(rejecting);
      await expect(vault.claimFees(NATIVE, [M1]))
        .to.be.revertedWithCustomError(vault, "VaultNativeTransferFailed")
        .withArgs(rejectingAddress, ETH_FEE);
      await expectAccount(vault, M1, NATIVE, ETH_BAL, ETH_FEE);

      const ft = await ethers.deployContract("MockFalseReturnToken");
      await vault.setTokenAllowed(ft, true);
      await depositAndSweep(b, ft, M1, 5n, 10_000n);
      await ft.setFailing(true);
      await expect(vault.claimFees(ft, [M1]))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(await ft.getAddress(), rejectingAddress, 100n);
      await expectAccount(vault, M1, await ft.getAddress(), 9_900n, 100n);
    });
  });

  describe("rescueDepositToken", function () {
    async function strayToken() {
      const b = await load();
      const stray = await b.ethers.deployContract("MockERC20", ["Stray", "STR", 18]);
      const s = salt(M1, DepositKind.Payment, 50n);
      const addr = computeDepositAddress(b.vaultAddress, s);
      await stray.mint(addr, 1_000n);
      await b.vault.connect(b.operator).deployDepositAddresses([s]); // only the operator deploys
      return { ...b, stray, strayAddress: await stray.getAddress(), s, addr };
    }

    it("refuses the vault itself as the rescue recipient: VaultRecipientIsVault", async function () {
      const { vault, vaultAddress, stray, s, addr, merchant1 } = await strayToken();
      await expect(vault.connect(merchant1).rescueDepositToken(s, stray, vaultAddress, 1n)).to.be.revertedWithCustomError(
        vault,
        "VaultRecipientIsVault",
      );
      expect(await stray.balanceOf(addr)).to.equal(1_000n);
    });

    it("the merchant's signer moves a non-allowlisted token out of an address the operator deployed", async function () {
      const { vault, stray, strayAddress, s, addr, merchant1, bob } = await strayToken();
      const undeployed = salt(M1, DepositKind.Payment, 51n);
      await expect(vault.connect(merchant1).rescueDepositToken(undeployed, stray, bob, 1n))
        .to.be.revertedWithCustomError(vault, "VaultDepositAddressNotDeployed")
        .withArgs(undeployed);
      const tx = vault.connect(merchant1).rescueDepositToken(s, stray, bob, 600n);
      await expect(tx).to.emit(vault, "DepositTokenRescued").withArgs(M1, addr, strayAddress, bob.address, 600n);
      await expect(tx).to.changeTokenBalances(ethers, stray, [addr, bob], [-600n, 600n]);
      // Already deployed: no second deployment.
      const tx2 = vault.connect(merchant1).rescueDepositToken(s, stray, bob, 400n);
      await expect(tx2).to.not.emit(vault, "DepositAddressDeployed");
      await expect(tx2).to.changeTokenBalances(ethers, stray, [addr, bob], [-400n, 400n]);
      // The ledger is untouched.
      await expectAccount(vault, M1, strayAddress, 0n, 0n);
      await expectAccount(vault, M1, (await payoutOf()).token, USDC_BAL, USDC_FEE);
    });

    it("rescues the native coin when it is not allowlisted", async function () {
      const { vault, merchant1, payer, bob, operator } = await load();
      await vault.setTokenAllowed(NATIVE, false);
      const s = salt(M1, DepositKind.Recharge, 9n);
      const addr = await vault.predictDepositAddress(M1, DepositKind.Recharge, 9n);
      await payer.sendTransaction({ to: addr, value: 5_000n });
      await vault.connect(operator).deployDepositAddresses([s]);
      const tx = vault.connect(merchant1).rescueDepositToken(s, NATIVE, bob, 5_000n);
      await expect(tx).to.emit(vault, "DepositTokenRescued").withArgs(M1, addr, NATIVE, bob.address, 5_000n);
      await expect(tx).to.changeEtherBalances(ethers, [addr, bob], [-5_000n, 5_000n]);
      await expectAccount(vault, M1, NATIVE, ETH_BAL, ETH_FEE);
    });

    it("rescues a USDT-style token (no return value)", async function () {
      const { vault, merchant1, bob, admin, operator } = await load();
      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      const s = salt(M1, DepositKind.Payment, 51n);
      const addr = await vault.predictDepositAddress(M1, DepositKind.Payment, 51n);
      await usdt.mint(addr, 700n);
      await vault.connect(operator).deployDepositAddresses([s]);
      await expect(vault.connect(merchant1).rescueDepositToken(s, usdt, bob, 700n)).to.changeTokenBalances(
        ethers,
        usdt,
        [addr, bob],
        [-700n, 700n],
      );
    });

    it("refuses allowlisted tokens (sweep them instead): VaultTokenIsAllowed", async function () {
      const { vault, usdc, usdcAddress, merchant1, bob } = await load();
      const s = salt(M1, DepositKind.Payment, 60n);
      await usdc.mint(await vault.predictDepositAddress(M1, DepositKind.Payment, 60n), 10n);
      await expect(vault.connect(merchant1).rescueDepositToken(s, usdc, bob, 10n))
        .to.be.revertedWithCustomError(vault, "VaultTokenIsAllowed")
        .withArgs(usdcAddress);
      await expect(vault.connect(merchant1).rescueDepositToken(s, NATIVE, bob, 1n))
        .to.be.revertedWithCustomError(vault, "VaultTokenIsAllowed")
        .withArgs(NATIVE);
    });

    it("only the salt's merchant's signer; unknown merchant; zero recipient; invalid kind", async function () {
      const { vault, stray, s, merchant1, merchant2, operator, admin, bob } = await strayToken();
      for (const who of [merchant2, operator, admin]) {
        await expect(vault.connect(who).rescueDepositToken(s, stray, who, 1n))
          .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
          .withArgs(M1, who.address);
      }
      await expect(vault.connect(merchant1).rescueDepositToken(salt(99n, 1, 1n), stray, bob, 1n))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      await expect(vault.connect(merchant1).rescueDepositToken(s, stray, ZERO, 1n))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("to");
      // An invalid kind names an address nobody can deploy.
      await expect(vault.connect(merchant1).rescueDepositToken(salt(M1, 0, 50n), stray, bob, 1n))
        .to.be.revertedWithCustomError(vault, "VaultDepositAddressNotDeployed")
        .withArgs(salt(M1, 0, 50n));
      await expect(vault.connect(merchant1).rescueDepositToken(s | DEPLOY_FLAG, stray, bob, 1n))
        .to.be.revertedWithCustomError(vault, "VaultDepositAddressNotDeployed")
        .withArgs(s | DEPLOY_FLAG);
      // A "token" without code would answer the transfer with success and move nothing: refused.
      const noCode = "0x000000000000000000000000000000000000dEaD";
      await expect(vault.connect(merchant1).rescueDepositToken(s, noCode, bob, 5n))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(noCode, bob.address, 5n);
    });

    it("a transfer that fails (too much, false return, refused native) reverts VaultTokenTransferFailed", async function () {
      const { vault, stray, strayAddress, s, addr, merchant1, bob, payer } = await strayToken();
      await expect(vault.connect(merchant1).rescueDepositToken(s, stray, bob, 1_001n))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(strayAddress, bob.address, 1_001n);
      expect(await stray.balanceOf(addr)).to.equal(1_000n);

      const ft = await ethers.deployContract("MockFalseReturnToken");
      await ft.mint(addr, 10n);
      await ft.setFailing(true);
      await expect(vault.connect(merchant1).rescueDepositToken(s, ft, bob, 10n))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(await ft.getAddress(), bob.address, 10n);

      await vault.setTokenAllowed(NATIVE, false);
      await payer.sendTransaction({ to: addr, value: 10n });
      const rejecting = await ethers.deployContract("RejectingReceiver");
      await expect(vault.connect(merchant1).rescueDepositToken(s, NATIVE, rejecting, 10n))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(NATIVE, await rejecting.getAddress(), 10n);
      await expect(vault.connect(merchant1).rescueDepositToken(s, NATIVE, bob, 11n))
        .to.be.revertedWithCustomError(vault, "VaultTokenTransferFailed")
        .withArgs(NATIVE, bob.address, 11n);
      expect(await ethers.provider.getBalance(addr)).to.equal(10n);
    });
  });
});

/** withArgs predicate: any address. */
function anyAddress(x: unknown): boolean {
  return typeof x === "string" && ethers.isAddress(x);
}
