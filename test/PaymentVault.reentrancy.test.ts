import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import {
  DEPLOY_FLAG,
  DepositKind,
  M1,
  M1_FEE,
  MERCHANT_ADMIN_ROLE,
  OPERATOR_ROLE,
  PayoutKind,
  type Payout,
  type PayoutBatch,
  deadlineIn,
  depositAndSweep,
  deployVault,
  expectAccount,
  feeOf,
  salt,
  signPayout,
  signPayoutBatch,
} from "./helpers/vault.js";
import type { PaymentVault, ReentrantToken } from "../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();

const M3 = 3n; // a merchant whose signer is the malicious token itself
const IN = 1_000_000n;
const FEE = feeOf(IN, M1_FEE);

/**
 * The base vault plus an allowlisted ReentrantToken ("evil"): merchant 1 holds IN of it (credited, 1% fee),
 * and merchant 3, whose signer is the token contract, holds IN of it at 0% fee.
 */
async function reentrantVault(connection: NetworkConnection) {
  const b = await deployVault(connection);
  const evil: ReentrantToken = await connection.ethers.deployContract("ReentrantToken");
  const evilAddress = await evil.getAddress();
  await b.vault.setTokenAllowed(evil, true);
  await b.vault.registerMerchant(M3, evil, 0);
  await depositAndSweep(b, evil, M1, 1n, IN);
  await depositAndSweep(b, evil, M3, 1n, IN);
  return { ...b, evil, evilAddress };
}

describe("PaymentVault: reentrancy", function () {
  let ctx: Awaited<ReturnType<typeof reentrantVault>>;
  const load = async () => (ctx = await networkHelpers.loadFixture(reentrantVault));

  async function payoutOf(overrides: Partial<Payout> = {}): Promise<Payout> {
    return {
      merchantId: M1,
      kind: PayoutKind.Withdrawal,
      token: ctx.evilAddress,
      to: ctx.alice.address,
      amount: 1_000n,
      payoutId: 1n,
      deadline: await deadlineIn(ethers, 3600n),
      ...overrides,
    };
  }

  /** The token tried to re-enter, and the vault refused with `error(args)`. */
  async function expectRefused(vault: PaymentVault, token: ReentrantToken, error: string, args: unknown[] = []) {
    expect(await token.attempted(), "re-entry attempted").to.equal(true);
    expect(await token.reentered(), "re-entry succeeded").to.equal(false);
    expect(await token.lastRevert()).to.equal(vault.interface.encodeErrorResult(error, args));
    expect(await token.callbackTarget(), "disarmed").to.equal(ethers.ZeroAddress);
  }

  it("control: the fixture credited both merchants and the token is not armed", async function () {
    const { vault, vaultAddress, evil, evilAddress } = await load();
    await expectAccount(vault, M1, evilAddress, IN - FEE, FEE);
    await expectAccount(vault, M3, evilAddress, IN, 0n);
    expect(await evil.balanceOf(vaultAddress)).to.equal(2n * IN);
    expect(await evil.attempted()).to.equal(false);
  });

  describe("during a sweep (deposit address -> vault transfer)", function () {
    async function armedSweep(calldata: string) {
      const b = await load();
      const a = await b.vault.predictDepositAddress(M1, DepositKind.Payment, 1n);
      await b.evil.mint(a, 500_000n);
      await b.evil.arm(b.vaultAddress, calldata);
      const tx = b.vault.connect(b.operator).sweep(b.evilAddress, [salt(M1, DepositKind.Payment, 1n)], []);
      await expect(tx).to.emit(b.vault, "Swept").withArgs(M1, b.evilAddress, 500_000n, 5_000n);
      // The sweep itself went through and credited exactly what arrived.
      await expectAccount(b.vault, M1, b.evilAddress, IN - FEE + 495_000n, FEE + 5_000n);
      expect(await b.evil.balanceOf(b.vaultAddress)).to.equal(2n * IN + 500_000n);
      return b;
    }

    it("a signed payout re-entered from the token fails (ReentrancyGuardReentrantCall), id stays unused", async function () {
      await load();
      const p = await payoutOf({ to: ctx.stranger.address, amount: 900_000n });
      const sig = await signPayout(ethers, ctx.merchant1, ctx.vaultAddress, p);
      const { vault, evil, stranger } = await armedSweep(ctx.vault.interface.encodeFunctionData("payout", [p, sig]));
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      expect(await evil.balanceOf(stranger)).to.equal(0n);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(false);
      // The same payout outside the sweep works.
      await expect(vault.payout(p, sig)).to.emit(vault, "PayoutExecuted");
    });

    it("claimFees re-entered from the token fails; the fees stay accrued", async function () {
      await load();
      const { vault, evil, evilAddress, feeRecipient } = await armedSweep(
        ctx.vault.interface.encodeFunctionData("claimFees", [ctx.evilAddress, [M1]]),
      );
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      expect(await evil.balanceOf(feeRecipient)).to.equal(0n);
      await expectAccount(vault, M1, evilAddress, IN - FEE + 495_000n, FEE + 5_000n);
    });

    it("a nested sweep (token holding OPERATOR_ROLE) fails, so nothing is credited twice", async function () {
      await load();
      await ctx.vault.grantRole(OPERATOR_ROLE, ctx.evil);
      const other = await ctx.vault.predictDepositAddress(M1, DepositKind.Payment, 2n);
      await ctx.evil.mint(other, 7n);
      const { vault, evil } = await armedSweepNoReload(
        ctx.vault.interface.encodeFunctionData("sweep", [ctx.evilAddress, [salt(M1, DepositKind.Payment, 2n) | (1n << 191n)], []]),
      );
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      expect(await evil.balanceOf(other)).to.equal(7n);
    });

    it("rescueDepositToken re-entered by the token (merchant 3's signer) fails", async function () {
      await load();
      const stray = await ethers.deployContract("MockERC20", ["Stray", "S", 18]);
      const s3 = salt(M3, DepositKind.Payment, 9n);
      const a3 = await ctx.vault.predictDepositAddress(M3, DepositKind.Payment, 9n);
      await stray.mint(a3, 100n);
      const { vault, evil } = await armedSweepNoReload(
        ctx.vault.interface.encodeFunctionData("rescueDepositToken", [s3, await stray.getAddress(), ctx.evilAddress, 100n]),
      );
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      expect(await stray.balanceOf(a3)).to.equal(100n);
    });

    it("payoutByMerchant re-entered by the token (merchant 3's signer) fails; merchant 3's balance is intact", async function () {
      await load();
      const p = await payoutOf({ merchantId: M3, amount: IN, to: ctx.evilAddress });
      const { vault, evil, evilAddress } = await armedSweepNoReload(ctx.vault.interface.encodeFunctionData("payoutByMerchant", [p]));
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      await expectAccount(vault, M3, evilAddress, IN, 0n);
    });

    /** As armedSweep, on the state already loaded (setup done by the test before arming). */
    async function armedSweepNoReload(calldata: string) {
      const b = ctx;
      const a = await b.vault.predictDepositAddress(M1, DepositKind.Payment, 1n);
      await b.evil.mint(a, 500_000n);
      await b.evil.arm(b.vaultAddress, calldata);
      await expect(b.vault.connect(b.operator).sweep(b.evilAddress, [salt(M1, DepositKind.Payment, 1n)], []))
        .to.emit(b.vault, "Swept")
        .withArgs(M1, b.evilAddress, 500_000n, 5_000n);
      await expectAccount(b.vault, M1, b.evilAddress, IN - FEE + 495_000n, FEE + 5_000n);
      return b;
    }
  });

  describe("during a payout (vault -> recipient transfer)", function () {
    it("a second signed payout re-entered from the token fails; only the first is paid", async function () {
      const { vault, vaultAddress, evil, evilAddress, merchant1, alice, bob } = await load();
      const p1 = await payoutOf({ to: alice.address, amount: 100_000n, payoutId: 1n });
      const p2 = await payoutOf({ to: bob.address, amount: 200_000n, payoutId: 2n });
      const sig2 = await signPayout(ethers, merchant1, vaultAddress, p2);
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("payout", [p2, sig2]));
      const tx = vault.connect(merchant1).payoutByMerchant(p1);
      await expect(tx).to.changeTokenBalances(ethers, evil, [vaultAddress, alice, bob], [-100_000n, 100_000n, 0n]);
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      await expectAccount(vault, M1, evilAddress, IN - FEE - 100_000n, FEE);
      expect(await vault.isPayoutIdUsed(M1, 1n)).to.equal(true);
      expect(await vault.isPayoutIdUsed(M1, 2n)).to.equal(false);
    });

    it("claimFees re-entered during a payout fails", async function () {
      const { vault, vaultAddress, evil, evilAddress, merchant1, feeRecipient } = await load();
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("claimFees", [evilAddress, [M1]]));
      await vault.connect(merchant1).payoutByMerchant(await payoutOf());
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      expect(await evil.balanceOf(feeRecipient)).to.equal(0n);
      await expectAccount(vault, M1, evilAddress, IN - FEE - 1_000n, FEE);
    });

    it("the payout id is spent before the transfer (checks-effects-interactions); cancelling it from inside is refused by the guard", async function () {
      const { vault, vaultAddress, evil, evilAddress } = await load();
      // Merchant 3's signer is the token: it pays itself out, and tries to cancel the id mid-payout.
      const p = await payoutOf({ merchantId: M3, to: evilAddress, amount: 10n, payoutId: 5n });
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("cancelPayout", [M3, 5n]));
      const pay = vault.interface.encodeFunctionData("payoutByMerchant", [p]);
      // The token contract is merchant 3's signer: impersonate it to call payoutByMerchant.
      await networkHelpers.impersonateAccount(evilAddress);
      await networkHelpers.setBalance(evilAddress, ethers.parseEther("1"));
      const tokenAsSigner = await ethers.getSigner(evilAddress);
      await expect(tokenAsSigner.sendTransaction({ to: vaultAddress, data: pay }))
        .to.emit(vault, "PayoutExecuted")
        .withArgs(M3, 5n, PayoutKind.Withdrawal, evilAddress, evilAddress, 10n);
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      await expectAccount(vault, M3, evilAddress, IN - 10n, 0n);
      expect(await vault.isPayoutIdUsed(M3, 5n)).to.equal(true);
    });
  });

  describe("during a batch payout (vault -> recipient transfer of one item)", function () {
    async function batchOf(items: { to: string; amount: bigint; payoutId: bigint }[]): Promise<PayoutBatch> {
      return {
        merchantId: M1,
        deadline: await deadlineIn(ethers, 3600n),
        payouts: items.map((it) => ({ kind: PayoutKind.Withdrawal, token: ctx.evilAddress, ...it })),
      };
    }

    it("views read from inside the first item's transfer report it done: balance debited, id used", async function () {
      const { vault, vaultAddress, evil, evilAddress, merchant1, alice, bob } = await load();
      const b = await batchOf([
        { to: alice.address, amount: 100n, payoutId: 1n },
        { to: bob.address, amount: 200n, payoutId: 2n },
      ]);
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("accountOf", [M1, evilAddress]));
      await vault.payoutBatch(b, await signPayoutBatch(ethers, merchant1, vaultAddress, b));
      expect(await evil.reentered()).to.equal(true);
      expect(vault.interface.decodeFunctionResult("accountOf", await evil.lastRevert()).toArray()).to.deep.equal([IN - FEE - 100n, FEE]);
      const b2 = await batchOf([{ to: alice.address, amount: 1n, payoutId: 3n }]);
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("isPayoutIdUsed", [M1, 3n]));
      await vault.payoutBatch(b2, await signPayoutBatch(ethers, merchant1, vaultAddress, b2));
      expect(vault.interface.decodeFunctionResult("isPayoutIdUsed", await evil.lastRevert())[0]).to.equal(true);
      await expectAccount(vault, M1, evilAddress, IN - FEE - 301n, FEE);
    });

    it("a fee change made from inside a transfer (setMerchantFee is not nonReentrant) survives the batch's later items", async function () {
      const base = await load();
      const { vault, vaultAddress, evil, evilAddress, admin, merchant1, alice, bob } = base;
      await vault.connect(admin).grantRole(MERCHANT_ADMIN_ROLE, evilAddress);
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("setMerchantFee", [M1, 300]));
      const b = await batchOf([
        { to: alice.address, amount: 100n, payoutId: 1n },
        { to: bob.address, amount: 200n, payoutId: 2n },
      ]);
      const tx = vault.payoutBatch(b, await signPayoutBatch(ethers, merchant1, vaultAddress, b));
      await expect(tx).to.emit(vault, "MerchantFeeChanged").withArgs(M1, M1_FEE, 300n);
      await expect(tx).to.emit(vault, "PayoutExecuted").withArgs(M1, 2n, PayoutKind.Withdrawal, evilAddress, bob.address, 200n);
      expect(await evil.reentered()).to.equal(true);
      // The merchant slot (fee, payout bits) and the account (fee copy) were written after the change, not over it.
      expect((await vault.merchant(M1)).feeBps).to.equal(300n);
      expect(await vault.isPayoutIdUsed(M1, 2n)).to.equal(true);
      await expectAccount(vault, M1, evilAddress, IN - FEE - 300n, FEE);
      const s = salt(M1, DepositKind.Payment, 2n);
      await evil.mint(await vault.predictDepositAddress(M1, DepositKind.Payment, 2n), IN);
      await expect(vault.connect(base.operator).sweep(evilAddress, [s | DEPLOY_FLAG], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, evilAddress, IN, feeOf(IN, 300n));
    });
  });

  describe("during a fee claim and a rescue", function () {
    it("a payout re-entered during claimFees fails; the fee recipient gets exactly the fees", async function () {
      const { vault, vaultAddress, evil, evilAddress, merchant1, feeRecipient, stranger } = await load();
      const p = await payoutOf({ to: stranger.address, amount: IN - FEE });
      const sig = await signPayout(ethers, merchant1, vaultAddress, p);
      await evil.arm(vaultAddress, vault.interface.encodeFunctionData("payout", [p, sig]));
      const tx = vault.claimFees(evilAddress, [M1, M3]);
      await expect(tx).to.emit(vault, "FeesClaimed").withArgs(evilAddress, feeRecipient.address, FEE);
      await expect(tx).to.changeTokenBalances(ethers, evil, [vaultAddress, feeRecipient, stranger], [-FEE, FEE, 0n]);
      await expectRefused(vault, evil, "ReentrancyGuardReentrantCall");
      await expectAccount(vault, M1, evilAddress, IN - FEE, 0n);
    });

    it("a re-entered rescue during a rescue fails; the outer rescue moves only its amount", async function () {
      const { vault, vaultAddress, merchant1, bob, operator } = await load();
      // A second, non-allowlisted ReentrantToken sits in a merchant-1 deposit address.
      const stray: ReentrantToken = await ethers.deployContract("ReentrantToken");
      const s = salt(M1, DepositKind.Payment, 30n);
      await vault.connect(operator).deployDepositAddresses([s]);
      const a = await vault.predictDepositAddress(M1, DepositKind.Payment, 30n);
      await stray.mint(a, 1_000n);
      // It re-enters rescueDepositToken; the call comes from the token, not the signer, but the guard trips first.
      await stray.arm(
        vaultAddress,
        vault.interface.encodeFunctionData("rescueDepositToken", [s, await stray.getAddress(), bob.address, 500n]),
      );
      const tx = vault.connect(merchant1).rescueDepositToken(s, stray, bob, 400n);
      await expect(tx).to.changeTokenBalances(ethers, stray, [a, bob], [-400n, 400n]);
      await expectRefused(vault, stray, "ReentrancyGuardReentrantCall");
    });

    it("native coin sent to the vault by a re-entering token during a token sweep is refused", async function () {
      // receive() is open only during a native-coin sweep; a token sweep measures only the token.
      const { vault, vaultAddress, evil, evilAddress, operator } = await load();
      const sender = await ethers.deployContract("NativeSender");
      const a = await vault.predictDepositAddress(M1, DepositKind.Payment, 1n);
      await evil.mint(a, 10n);
      // Arm the token to have NativeSender call the vault's receive() mid-sweep.
      await evil.arm(await sender.getAddress(), sender.interface.encodeFunctionData("sendWithGas", [vaultAddress, 100_000n]));
      await vault.connect(operator).sweep(evilAddress, [salt(M1, DepositKind.Payment, 1n)], []);
      // sendWithGas returned false: receive() refused the call even though the guard was entered.
      expect(await evil.attempted()).to.equal(true);
      expect(await evil.lastRevert()).to.equal(ethers.AbiCoder.defaultAbiCoder().encode(["bool"], [false]));
      await expectAccount(vault, M1, ethers.ZeroAddress, 0n, 0n);
      await expectAccount(vault, M1, evilAddress, IN - FEE + 10n, FEE);
    });
  });
});
