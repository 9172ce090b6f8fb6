import { expect } from "chai";
import { network } from "hardhat";
import {
  DEPLOY_FLAG,
  DepositKind,
  M1,
  M1_FEE,
  M2,
  M2_FEE,
  MAX_FEE_BPS,
  NATIVE,
  OPERATOR_ROLE,
  computeDepositAddress,
  deployVault,
  expectAccount,
  feeOf,
  runtimeCode,
  salt,
} from "./helpers/vault.js";

const { ethers, networkHelpers } = await network.create();

const P = DepositKind.Payment;
const R = DepositKind.Recharge;

describe("PaymentVault: sweep", function () {
  const load = () => networkHelpers.loadFixture(deployVault);

  async function addr(
    vault: { predictDepositAddress: (m: bigint, k: number, key: bigint) => Promise<string> },
    m: bigint,
    k: number,
    key: bigint,
  ) {
    return vault.predictDepositAddress(m, k, key);
  }

  async function eventsOf(tx: Promise<{ wait(): Promise<unknown> }>, contract: { interface: { parseLog(l: unknown): unknown } }) {
    const receipt = (await (await tx).wait()) as { logs: { topics: string[]; data: string; address: string }[] };
    const out: { name: string; args: unknown[] }[] = [];
    for (const l of receipt.logs) {
      try {
        const parsed = contract.interface.parseLog(l) as { name: string; args: unknown[] } | null;
        if (parsed) out.push({ name: parsed.name, args: [...parsed.args] });
      } catch {
        // not this contract's event
      }
    }
    return out;
  }

  describe("access and allowlist", function () {
    it("requires OPERATOR_ROLE", async function () {
      const { vault, admin, usdcAddress } = await load();
      await expect(vault.connect(admin).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, OPERATOR_ROLE);
    });

    it("reverts for a token that is not, or no longer, allowlisted (the native coin too)", async function () {
      const { vault, operator, usdc, usdcAddress } = await load();
      const other = await ethers.deployContract("MockERC20", ["X", "X", 18]);
      await expect(vault.connect(operator).sweep(other, [], []))
        .to.be.revertedWithCustomError(vault, "VaultTokenNotAllowed")
        .withArgs(await other.getAddress());
      const a = await addr(vault, M1, P, 1n);
      await usdc.mint(a, 100n);
      await vault.setTokenAllowed(usdc, false);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultTokenNotAllowed")
        .withArgs(usdcAddress);
      await vault.setTokenAllowed(NATIVE, false);
      await expect(vault.connect(operator).sweep(NATIVE, [], []))
        .to.be.revertedWithCustomError(vault, "VaultTokenNotAllowed")
        .withArgs(NATIVE);
      // Re-allowed: sweepable again.
      await vault.setTokenAllowed(usdc, true);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], [])).to.emit(vault, "Swept");
    });

    it("an empty batch does nothing", async function () {
      const { vault, operator, usdcAddress } = await load();
      const tx = vault.connect(operator).sweep(usdcAddress, [], []);
      await expect(tx).to.not.emit(vault, "Swept");
      expect(await eventsOf(tx, vault)).to.deep.equal([]);
    });
  });

  describe("standard ERC-20", function () {
    it("deploys a flagged address, moves its whole balance and credits the merchant less its fee", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const s = salt(M1, P, 1n);
      const a = await addr(vault, M1, P, 1n);
      const amount = 12_345_678n;
      await usdc.mint(a, amount);
      const tx = vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [a, vaultAddress], [-amount, amount]);
      await expect(tx).to.emit(vault, "DepositAddressDeployed").withArgs(a, s);
      await expect(tx).to.emit(usdc, "Transfer").withArgs(a, vaultAddress, amount);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdcAddress, amount, feeOf(amount, M1_FEE));
      await expect(tx).to.not.emit(vault, "SweepSkipped");
      expect(await ethers.provider.getCode(a)).to.equal(runtimeCode(vaultAddress));
      await expectAccount(vault, M1, usdcAddress, amount - feeOf(amount, M1_FEE), feeOf(amount, M1_FEE));
      await expectAccount(vault, M2, usdcAddress, 0n, 0n);
    });

    it("credits consecutive entries of one merchant as one group (one Swept) and sweeps each address", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const amounts = [100_000n, 250_001n, 7n];
      const entries: bigint[] = [];
      const addrs: string[] = [];
      for (let i = 0; i < amounts.length; i++) {
        const k = i % 2 === 0 ? P : R;
        const a = await addr(vault, M1, k, BigInt(i + 1));
        await usdc.mint(a, amounts[i]);
        addrs.push(a);
        entries.push(salt(M1, k, BigInt(i + 1)) | DEPLOY_FLAG);
      }
      const total = amounts.reduce((x, y) => x + y, 0n);
      const tx = vault.connect(operator).sweep(usdcAddress, entries, []);
      await expect(tx).to.changeTokenBalances(ethers, usdc, [...addrs, vaultAddress], [...amounts.map((x) => -x), total]);
      const swept = (await eventsOf(tx, vault)).filter((e) => e.name === "Swept");
      expect(swept).to.deep.equal([{ name: "Swept", args: [M1, usdcAddress, total, feeOf(total, M1_FEE)] }]);
      await expectAccount(vault, M1, usdcAddress, total - feeOf(total, M1_FEE), feeOf(total, M1_FEE));
    });

    it("groups by runs of merchant id: M1,M1,M2,M1 credits M1 twice and M2 once, each at its own fee", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const plan: [bigint, bigint, bigint][] = [
        [M1, 1n, 1_000_000n],
        [M1, 2n, 3_000_000n],
        [M2, 1n, 2_000_000n],
        [M1, 3n, 500_000n],
      ];
      for (const [m, key, amt] of plan) await usdc.mint(await addr(vault, m, P, key), amt);
      const tx = vault.connect(operator).sweep(
        usdcAddress,
        plan.map(([m, key]) => salt(m, P, key) | DEPLOY_FLAG),
        [],
      );
      const swept = (await eventsOf(tx, vault)).filter((e) => e.name === "Swept");
      expect(swept).to.deep.equal([
        { name: "Swept", args: [M1, usdcAddress, 4_000_000n, feeOf(4_000_000n, M1_FEE)] },
        { name: "Swept", args: [M2, usdcAddress, 2_000_000n, feeOf(2_000_000n, M2_FEE)] },
        { name: "Swept", args: [M1, usdcAddress, 500_000n, feeOf(500_000n, M1_FEE)] },
      ]);
      const m1Fee = feeOf(4_000_000n, M1_FEE) + feeOf(500_000n, M1_FEE);
      await expectAccount(vault, M1, usdcAddress, 4_500_000n - m1Fee, m1Fee);
      await expectAccount(vault, M2, usdcAddress, 2_000_000n - feeOf(2_000_000n, M2_FEE), feeOf(2_000_000n, M2_FEE));
      // Ledger == holdings.
      expect(await usdc.balanceOf(vaultAddress)).to.equal(6_500_000n);
    });

    it("passes over zero-balance addresses (a flagged one is still deployed) and emits no Swept for an empty group", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const a1 = await addr(vault, M1, P, 1n);
      const a2 = await addr(vault, M2, P, 1n);
      await usdc.mint(a2, 1000n);
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M2, P, 1n) | DEPLOY_FLAG], []);
      const events = await eventsOf(tx, vault);
      expect(events.map((e) => e.name)).to.deep.equal(["DepositAddressDeployed", "DepositAddressDeployed", "Swept"]);
      expect(events[2].args).to.deep.equal([M2, usdcAddress, 1000n, feeOf(1000n, M2_FEE)]);
      expect(await ethers.provider.getCode(a1)).to.equal(runtimeCode(vaultAddress));
      await expectAccount(vault, M1, usdcAddress, 0n, 0n);
      // Sweeping the same (now empty) addresses again moves nothing and emits nothing.
      const again = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n), salt(M2, P, 1n)], []);
      expect(await eventsOf(again, vault)).to.deep.equal([]);
      await expect(again).to.not.emit(usdc, "Transfer");
    });

    it("sweeps the same address listed twice once (the second entry finds a zero balance)", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      const a = await addr(vault, M1, P, 1n);
      await usdc.mint(a, 5000n);
      const s = salt(M1, P, 1n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG, s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 5000n, feeOf(5000n, M1_FEE));
      await expectAccount(vault, M1, usdcAddress, 5000n - feeOf(5000n, M1_FEE), feeOf(5000n, M1_FEE));
    });

    it("credits each sweep on top of earlier balances", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      const s = salt(M1, P, 1n);
      const a = await addr(vault, M1, P, 1n);
      await usdc.mint(a, 10_000n);
      await vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []);
      await usdc.mint(a, 20_000n);
      await vault.connect(operator).sweep(usdcAddress, [s], []);
      await expectAccount(vault, M1, usdcAddress, 30_000n - 300n, 300n);
    });

    it("sweeps a batch of 60 addresses across two merchants", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const entries: bigint[] = [];
      let t1 = 0n;
      let t2 = 0n;
      for (let i = 1n; i <= 60n; i++) {
        const m = i <= 30n ? M1 : M2;
        await usdc.mint(await addr(vault, m, P, i), 1000n * i);
        if (m === M1) t1 += 1000n * i;
        else t2 += 1000n * i;
        entries.push(salt(m, P, i) | DEPLOY_FLAG);
      }
      await vault.connect(operator).sweep(usdcAddress, entries, []);
      await expectAccount(vault, M1, usdcAddress, t1 - feeOf(t1, M1_FEE), feeOf(t1, M1_FEE));
      await expectAccount(vault, M2, usdcAddress, t2 - feeOf(t2, M2_FEE), feeOf(t2, M2_FEE));
      expect(await usdc.balanceOf(vaultAddress)).to.equal(t1 + t2);
    });
  });

  describe("DEPLOY_FLAG semantics", function () {
    it("issue 11: a merchant can no longer deploy an address the sweeper flagged (the front-run that reverted the batch)", async function () {
      const { vault, usdc, usdcAddress, operator, merchant1, bob } = await load();
      // The sweeper saw no code at M1's and M2's new addresses and flagged both.
      const a1 = await addr(vault, M1, P, 1n);
      const a2 = await addr(vault, M2, P, 1n);
      await usdc.mint(a1, 1_000n);
      await usdc.mint(a2, 2_000n);
      // Before: merchant 1's signer front-ran with rescueDepositToken(ownSalt, otherToken, to, 0), which deployed
      // a1, and the flagged CREATE2 then failed and reverted the whole batch, merchant 2 included. Now a rescue
      // needs an address the operator deployed.
      const other = await ethers.deployContract("MockERC20", ["Other", "O", 6]);
      await expect(vault.connect(merchant1).rescueDepositToken(salt(M1, P, 1n), other, bob, 0n))
        .to.be.revertedWithCustomError(vault, "VaultDepositAddressNotDeployed")
        .withArgs(salt(M1, P, 1n));
      expect(await ethers.provider.getCode(a1)).to.equal("0x");
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M2, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdcAddress, 1_000n, 10n);
      await expect(tx).to.emit(vault, "Swept").withArgs(M2, usdcAddress, 2_000n, 50n);
    });

    it("only the operator's own wrong flag (an address it deployed) reverts a sweep: VaultDeployFailed", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      const s1 = salt(M1, P, 1n);
      const s2 = salt(M1, P, 2n);
      const a2 = await addr(vault, M1, P, 2n);
      await vault.connect(operator).deployDepositAddresses([s1]);
      await usdc.mint(a2, 1000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s2 | DEPLOY_FLAG, s1 | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultDeployFailed")
        .withArgs(s1);
      expect(await usdc.balanceOf(a2)).to.equal(1000n);
    });

    it("an unflagged token entry on an address without code moves nothing and is reported with SweepSkipped", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const a = await addr(vault, M1, P, 1n);
      await usdc.mint(a, 1000n);
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n)], []);
      await expect(tx).to.emit(vault, "SweepSkipped").withArgs(usdcAddress, a, 1000n);
      await expect(tx).to.not.emit(vault, "Swept");
      expect(await usdc.balanceOf(a)).to.equal(1000n);
      expect(await usdc.balanceOf(vaultAddress)).to.equal(0n);
      await expectAccount(vault, M1, usdcAddress, 0n, 0n);
      // The same for a token that returns nothing (an empty answer from an address without code is no success).
      const usdt = await ethers.deployContract("MockTetherToken");
      await vault.setTokenAllowed(usdt, true);
      await usdt.mint(a, 500n);
      await expect(vault.connect(operator).sweep(await usdt.getAddress(), [salt(M1, P, 1n)], [500n]))
        .to.emit(vault, "SweepSkipped")
        .withArgs(await usdt.getAddress(), a, 500n);
      // The next, flagged, sweep collects it.
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 1000n, 10n);
    });

    it("an unflagged native entry on an address without code is reported with SweepSkipped", async function () {
      const { vault, vaultAddress, operator, payer } = await load();
      const a = await addr(vault, M1, P, 1n);
      await payer.sendTransaction({ to: a, value: 4242n });
      const tx = vault.connect(operator).sweep(NATIVE, [salt(M1, P, 1n)], []);
      await expect(tx).to.emit(vault, "SweepSkipped").withArgs(NATIVE, a, 4242n);
      await expect(tx).to.not.emit(vault, "Swept");
      await expect(tx).to.not.emit(vault, "NativeSwept");
      expect(await ethers.provider.getBalance(a)).to.equal(4242n);
      expect(await ethers.provider.getBalance(vaultAddress)).to.equal(0n);
    });

    it("a flagged entry with an invalid kind reverts VaultInvalidDepositKind", async function () {
      const { vault, usdcAddress, operator } = await load();
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, DepositKind.None, 1n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
        .withArgs(0);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, 3, 1n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
        .withArgs(3);
      // Unflagged, an invalid kind names an address nobody can deploy: nothing to sweep.
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, DepositKind.None, 1n)], [])).to.not.emit(vault, "Swept");
    });

    it("the flag is not part of the merchant id: flagged and unflagged entries of one merchant form one group", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      await vault.connect(operator).deployDepositAddresses([salt(M1, P, 1n)]);
      await usdc.mint(await addr(vault, M1, P, 1n), 100n);
      await usdc.mint(await addr(vault, M1, P, 2n), 200n);
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n), salt(M1, P, 2n) | DEPLOY_FLAG], []);
      const swept = (await eventsOf(tx, vault)).filter((e) => e.name === "Swept");
      expect(swept).to.deep.equal([{ name: "Swept", args: [M1, usdcAddress, 300n, 3n] }]);
    });
  });

  describe("fee math and the feeTag cache", function () {
    it("rounds the fee down, and a 0% merchant keeps everything", async function () {
      const { vault, usdc, usdcAddress, operator, alice } = await load();
      await vault.registerMerchant(3n, alice, 0);
      await usdc.mint(await addr(vault, M1, P, 1n), 99n); // 1% of 99 = 0.99 -> 0
      await usdc.mint(await addr(vault, M2, P, 1n), 1_001n); // 2.5% of 1001 = 25.025 -> 25
      await usdc.mint(await addr(vault, 3n, P, 1n), 1_000_000n);
      const tx = vault
        .connect(operator)
        .sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M2, P, 1n) | DEPLOY_FLAG, salt(3n, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdcAddress, 99n, 0n);
      await expect(tx).to.emit(vault, "Swept").withArgs(M2, usdcAddress, 1_001n, 25n);
      await expect(tx).to.emit(vault, "Swept").withArgs(3n, usdcAddress, 1_000_000n, 0n);
      await expectAccount(vault, M1, usdcAddress, 99n, 0n);
      await expectAccount(vault, M2, usdcAddress, 976n, 25n);
      await expectAccount(vault, 3n, usdcAddress, 1_000_000n, 0n);
    });

    it("charges exactly MAX_FEE_BPS (5%) at the cap", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      await vault.setMerchantFee(M1, MAX_FEE_BPS);
      await usdc.mint(await addr(vault, M1, P, 1n), 1_000_000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 1_000_000n, 50_000n);
      await expectAccount(vault, M1, usdcAddress, 950_000n, 50_000n);
    });

    it("setMerchantFee rewrites the cached fee of every credited account, and new accounts read the new fee", async function () {
      const { vault, usdc, usdcAddress, operator, payer } = await load();
      const s = salt(M1, P, 1n);
      const a = await addr(vault, M1, P, 1n);
      // First credit caches 1% in M1's usdc account.
      await usdc.mint(a, 10_000n);
      await vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []);
      await expectAccount(vault, M1, usdcAddress, 9_900n, 100n);

      await vault.setMerchantFee(M1, 300);
      await usdc.mint(a, 10_000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 10_000n, 300n);
      await expectAccount(vault, M1, usdcAddress, 9_900n + 9_700n, 400n);

      // An account never credited before (native) reads the merchant's current fee.
      await payer.sendTransaction({ to: a, value: 10_000n });
      await expect(vault.connect(operator).sweep(NATIVE, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, NATIVE, 10_000n, 300n);

      // Down to 0%: both cached accounts follow.
      await vault.setMerchantFee(M1, 0);
      await usdc.mint(a, 10_000n);
      await payer.sendTransaction({ to: a, value: 10_000n });
      await expect(vault.connect(operator).sweep(usdcAddress, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 10_000n, 0n);
      await expect(vault.connect(operator).sweep(NATIVE, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, NATIVE, 10_000n, 0n);
      await expectAccount(vault, M1, usdcAddress, 9_900n + 9_700n + 10_000n, 400n);
      await expectAccount(vault, M1, NATIVE, 9_700n + 10_000n, 300n);
    });

    it("setMerchantFee also reaches accounts in a token removed from the allowlist", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      const s = salt(M1, P, 1n);
      const a = await addr(vault, M1, P, 1n);
      await usdc.mint(a, 10_000n);
      await vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []);
      await vault.setTokenAllowed(usdc, false);
      await vault.setMerchantFee(M1, 200);
      await vault.setTokenAllowed(usdc, true);
      await usdc.mint(a, 10_000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 10_000n, 200n);
    });

    it("setMerchantFee of one merchant leaves another merchant's cached fee alone", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      await usdc.mint(await addr(vault, M2, P, 1n), 10_000n);
      await vault.connect(operator).sweep(usdcAddress, [salt(M2, P, 1n) | DEPLOY_FLAG], []);
      await vault.setMerchantFee(M1, 0);
      await usdc.mint(await addr(vault, M2, P, 1n), 10_000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M2, P, 1n)], []))
        .to.emit(vault, "Swept")
        .withArgs(M2, usdcAddress, 10_000n, 250n);
    });
  });

  describe("the ledger's room (128-bit balance, 96-bit fees)", function () {
    it("issue 11: a deposit that would overflow a balance is skipped, the rest of the batch is credited", async function () {
      const { vault, usdc, usdcAddress, operator, alice } = await load();
      await vault.registerMerchant(3n, alice, 0);
      const max = (1n << 128n) - 1n;
      await usdc.mint(await addr(vault, 3n, P, 1n), max);
      await vault.connect(operator).sweep(usdcAddress, [salt(3n, P, 1n) | DEPLOY_FLAG], []);
      await expectAccount(vault, 3n, usdcAddress, max, 0n);
      // Before: the next unit reverted the whole batch (VaultAmountOverflow), M1 included.
      await usdc.mint(await addr(vault, 3n, P, 1n), 1n);
      await usdc.mint(await addr(vault, M1, P, 1n), 1_000n);
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(3n, P, 1n), salt(M1, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx)
        .to.emit(vault, "SweepSkipped")
        .withArgs(usdcAddress, await addr(vault, 3n, P, 1n), 1n);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdcAddress, 1_000n, 10n);
      await expectAccount(vault, 3n, usdcAddress, max, 0n);
      expect(await usdc.balanceOf(await addr(vault, 3n, P, 1n))).to.equal(1n); // kept where it is
    });

    it("a group is kept within the fees' room too: at most 2**96 - 1 of fees, then entries are skipped", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      await vault.setMerchantFee(M1, MAX_FEE_BPS);
      const room = (((1n << 96n) - 1n) * 10_000n) / MAX_FEE_BPS; // its 5% fee is just within 96 bits
      await usdc.mint(await addr(vault, M1, P, 1n), room);
      await usdc.mint(await addr(vault, M1, P, 2n), 1n);
      const tx = vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, P, 2n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdcAddress, room, feeOf(room, MAX_FEE_BPS));
      await expect(tx)
        .to.emit(vault, "SweepSkipped")
        .withArgs(usdcAddress, await addr(vault, M1, P, 2n), 1n);
    });
  });

  describe("non-standard tokens", function () {
    it("MockTetherToken (no return value) sweeps; with fee params on, the merchant is credited what arrived", async function () {
      const { vault, vaultAddress, operator, admin } = await load();
      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      const usdtAddress = await usdt.getAddress();
      await vault.setTokenAllowed(usdt, true);
      const a1 = await addr(vault, M1, P, 1n);
      await usdt.mint(a1, 1_000_000n);
      await expect(vault.connect(operator).sweep(usdtAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdtAddress, 1_000_000n, 10_000n);

      await usdt.connect(admin).setParams(20, 1_000n); // 0.2%, capped at 1,000 units
      const a2 = await addr(vault, M1, P, 2n);
      await usdt.mint(a1, 100_000n); // fee 200
      await usdt.mint(a2, 10_000_000n); // fee capped at 1,000
      const arrived = 100_000n - 200n + 10_000_000n - 1_000n;
      // Credited exactly (the default), the sweep sees less arrive than it moved and reverts: nothing is over-credited.
      await expect(vault.connect(operator).sweep(usdtAddress, [salt(M1, P, 1n), salt(M1, P, 2n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultSweepShortfall")
        .withArgs(usdtAddress, 10_100_000n, arrived);
      await expect(vault.setTokenMeasured(usdt, true)).to.emit(vault, "TokenMeasured").withArgs(usdtAddress, true);
      expect(await vault.isTokenMeasured(usdt)).to.equal(true);
      const tx = vault.connect(operator).sweep(usdtAddress, [salt(M1, P, 1n), salt(M1, P, 2n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, usdtAddress, arrived, feeOf(arrived, M1_FEE));
      expect(await usdt.balanceOf(a1)).to.equal(0n);
      expect(await usdt.balanceOf(a2)).to.equal(0n);
      expect(await usdt.balanceOf(admin)).to.equal(1_200n);
      expect(await usdt.balanceOf(vaultAddress)).to.equal(1_000_000n + arrived);
      const credited = 1_000_000n + arrived;
      await expectAccount(vault, M1, usdtAddress, credited - 10_000n - feeOf(arrived, M1_FEE), 10_000n + feeOf(arrived, M1_FEE));
    });

    it("MockTetherToken: a blacklisted deposit address is skipped with SweepSkipped while the rest of the batch goes through", async function () {
      const { vault, vaultAddress, operator, admin } = await load();
      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      const usdtAddress = await usdt.getAddress();
      await vault.setTokenAllowed(usdt, true);
      const a1 = await addr(vault, M1, P, 1n);
      const a2 = await addr(vault, M1, P, 2n);
      const b1 = await addr(vault, M2, P, 1n);
      await usdt.mint(a1, 1_000n);
      await usdt.mint(a2, 2_000n);
      await usdt.mint(b1, 4_000n);
      await usdt.connect(admin).addBlackList(a2);
      const tx = vault
        .connect(operator)
        .sweep(usdtAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, P, 2n) | DEPLOY_FLAG, salt(M2, P, 1n) | DEPLOY_FLAG], []);
      const events = await eventsOf(tx, vault);
      expect(events.filter((e) => e.name !== "DepositAddressDeployed")).to.deep.equal([
        { name: "SweepSkipped", args: [usdtAddress, a2, 2_000n] },
        { name: "Swept", args: [M1, usdtAddress, 1_000n, 10n] },
        { name: "Swept", args: [M2, usdtAddress, 4_000n, 100n] },
      ]);
      expect(await usdt.balanceOf(a2)).to.equal(2_000n);
      expect(await usdt.balanceOf(vaultAddress)).to.equal(5_000n);
      await expectAccount(vault, M1, usdtAddress, 990n, 10n);
      await expectAccount(vault, M2, usdtAddress, 3_900n, 100n);
      // Once un-blacklisted, it sweeps.
      await usdt.connect(admin).removeBlackList(a2);
      await expect(vault.connect(operator).sweep(usdtAddress, [salt(M1, P, 2n)], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdtAddress, 2_000n, 20n);
    });

    it("MockTetherToken paused: every address is skipped, nothing is credited", async function () {
      const { vault, operator, admin } = await load();
      const usdt = await ethers.deployContract("MockTetherToken", [], admin);
      await vault.setTokenAllowed(usdt, true);
      const a1 = await addr(vault, M1, P, 1n);
      await usdt.mint(a1, 1_000n);
      await usdt.connect(admin).setPaused(true);
      const tx = vault.connect(operator).sweep(await usdt.getAddress(), [salt(M1, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx)
        .to.emit(vault, "SweepSkipped")
        .withArgs(await usdt.getAddress(), a1, 1_000n);
      await expect(tx).to.not.emit(vault, "Swept");
    });

    it("MockFeeOnTransferToken: credits what actually arrived", async function () {
      const { vault, vaultAddress, operator } = await load();
      const fot = await ethers.deployContract("MockFeeOnTransferToken", [300n]); // burns 3%
      const fotAddress = await fot.getAddress();
      await vault.setTokenAllowed(fot, true);
      await vault.setTokenMeasured(fot, true);
      await fot.mint(await addr(vault, M1, P, 1n), 10_000n);
      await fot.mint(await addr(vault, M1, P, 2n), 20_000n);
      await fot.mint(await addr(vault, M2, P, 1n), 1_000n);
      const tx = vault
        .connect(operator)
        .sweep(fotAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, P, 2n) | DEPLOY_FLAG, salt(M2, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, fotAddress, 29_100n, 291n);
      await expect(tx).to.emit(vault, "Swept").withArgs(M2, fotAddress, 970n, 24n);
      expect(await fot.balanceOf(vaultAddress)).to.equal(30_070n);
      await expectAccount(vault, M1, fotAddress, 29_100n - 291n, 291n);
      await expectAccount(vault, M2, fotAddress, 970n - 24n, 24n);
    });

    it("MockBlocklistToken: a blocklisted deposit address is skipped, the others are credited", async function () {
      const { vault, vaultAddress, operator } = await load();
      const busd = await ethers.deployContract("MockBlocklistToken");
      const busdAddress = await busd.getAddress();
      await vault.setTokenAllowed(busd, true);
      const a1 = await addr(vault, M1, P, 1n);
      const a2 = await addr(vault, M1, R, 2n);
      await busd.mint(a1, 700n);
      await busd.mint(a2, 300n);
      await busd.setBlocklisted(a1, true);
      const tx = vault.connect(operator).sweep(busdAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, R, 2n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "SweepSkipped").withArgs(busdAddress, a1, 700n);
      await expect(tx).to.emit(vault, "Swept").withArgs(M1, busdAddress, 300n, 3n);
      expect(await busd.balanceOf(a1)).to.equal(700n);
      expect(await busd.balanceOf(vaultAddress)).to.equal(300n);
      await expectAccount(vault, M1, busdAddress, 297n, 3n);
    });

    it("MockBlocklistToken: a blocklisted vault makes every address skip", async function () {
      const { vault, vaultAddress, operator } = await load();
      const busd = await ethers.deployContract("MockBlocklistToken");
      const busdAddress = await busd.getAddress();
      await vault.setTokenAllowed(busd, true);
      const a1 = await addr(vault, M1, P, 1n);
      await busd.mint(a1, 700n);
      await busd.setBlocklisted(vaultAddress, true);
      const tx = vault.connect(operator).sweep(busdAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "SweepSkipped").withArgs(busdAddress, a1, 700n);
      await expect(tx).to.not.emit(vault, "Swept");
      await expectAccount(vault, M1, busdAddress, 0n, 0n);
    });

    it("MockFalseReturnToken returning false: skipped with SweepSkipped; swept once it behaves", async function () {
      const { vault, vaultAddress, operator } = await load();
      const ft = await ethers.deployContract("MockFalseReturnToken");
      const ftAddress = await ft.getAddress();
      await vault.setTokenAllowed(ft, true);
      const a1 = await addr(vault, M1, P, 1n);
      await ft.mint(a1, 5_000n);
      await ft.setFailing(true);
      const tx = vault.connect(operator).sweep(ftAddress, [salt(M1, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.emit(vault, "SweepSkipped").withArgs(ftAddress, a1, 5_000n);
      await expect(tx).to.not.emit(vault, "Swept");
      expect(await ft.balanceOf(a1)).to.equal(5_000n);
      await ft.setFailing(false);
      await expect(vault.connect(operator).sweep(ftAddress, [salt(M1, P, 1n)], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, ftAddress, 5_000n, 50n);
      expect(await ft.balanceOf(vaultAddress)).to.equal(5_000n);
    });

    it("a 'token' that does not answer balanceOf reverts TokenCallsBalanceOfFailed(token, vault)", async function () {
      const { vault, vaultAddress, operator, stranger } = await load();
      await vault.setTokenAllowed(stranger.address, true); // an EOA: empty returndata
      await expect(vault.connect(operator).sweep(stranger.address, [], []))
        .to.be.revertedWithCustomError(vault, "TokenCallsBalanceOfFailed")
        .withArgs(stranger.address, vaultAddress);
      // A contract without balanceOf reverts the same way.
      const sender = await ethers.deployContract("NativeSender");
      await vault.setTokenAllowed(sender, true);
      await expect(vault.connect(operator).sweep(sender, [], []))
        .to.be.revertedWithCustomError(vault, "TokenCallsBalanceOfFailed")
        .withArgs(await sender.getAddress(), vaultAddress);
    });
  });

  describe("native coin", function () {
    it("sweeps deployed and undeployed addresses, emitting NativeSwept per address and Swept per group", async function () {
      const { vault, vaultAddress, operator, payer } = await load();
      const a1 = await addr(vault, M1, P, 1n);
      const a2 = await addr(vault, M1, R, 9n);
      const b1 = await addr(vault, M2, P, 1n);
      await vault.connect(operator).deployDepositAddresses([salt(M1, R, 9n)]);
      await payer.sendTransaction({ to: a1, value: 1_000_000n });
      await payer.sendTransaction({ to: a2, value: 3_000_000n });
      await payer.sendTransaction({ to: b1, value: 2_000_000n });
      const tx = vault.connect(operator).sweep(NATIVE, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, R, 9n), salt(M2, P, 1n) | DEPLOY_FLAG], []);
      await expect(tx).to.changeEtherBalances(ethers, [a1, a2, b1, vaultAddress], [-1_000_000n, -3_000_000n, -2_000_000n, 6_000_000n]);
      const events = (await eventsOf(tx, vault)).filter((e) => e.name !== "DepositAddressDeployed");
      expect(events).to.deep.equal([
        { name: "NativeSwept", args: [a1, 1_000_000n] },
        { name: "NativeSwept", args: [a2, 3_000_000n] },
        { name: "Swept", args: [M1, NATIVE, 4_000_000n, 40_000n] },
        { name: "NativeSwept", args: [b1, 2_000_000n] },
        { name: "Swept", args: [M2, NATIVE, 2_000_000n, 50_000n] },
      ]);
      await expectAccount(vault, M1, NATIVE, 3_960_000n, 40_000n);
      await expectAccount(vault, M2, NATIVE, 1_950_000n, 50_000n);
    });

    it("passes over zero-balance native addresses", async function () {
      const { vault, operator } = await load();
      const tx = vault.connect(operator).sweep(NATIVE, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(M1, P, 1n)], []);
      const events = await eventsOf(tx, vault);
      expect(events.map((e) => e.name)).to.deep.equal(["DepositAddressDeployed"]);
    });

    it("refuses native coin sent straight to the vault: VaultDirectNativeDeposit(sender)", async function () {
      const { vault, vaultAddress, payer } = await load();
      await expect(payer.sendTransaction({ to: vaultAddress, value: 1n }))
        .to.be.revertedWithCustomError(vault, "VaultDirectNativeDeposit")
        .withArgs(payer.address);
      const sender = await ethers.deployContract("NativeSender");
      expect(await sender.sendWithGas.staticCall(vaultAddress, 100_000n, { value: 1n })).to.equal(false);
      // With transfer()'s 2,300-gas stipend the refusal is VaultDirectNativeDeposit(sender) in a plain run; under
      // coverage instrumentation receive() runs out of the stipend first, so only the revert itself is asserted.
      await expect(sender.sendWithTransfer(vaultAddress, { value: 1n })).to.revert(ethers);
      expect(await ethers.provider.getBalance(vaultAddress)).to.equal(0n);
    });
  });

  describe("merchants", function () {
    it("an unknown merchant in a batch reverts it with VaultUnknownMerchant (the operator's mistake alone)", async function () {
      const { vault, usdc, usdcAddress, operator } = await load();
      await usdc.mint(await addr(vault, M1, P, 1n), 1_000n);
      await usdc.mint(await addr(vault, 99n, P, 1n), 1_000n);
      await expect(vault.connect(operator).sweep(usdcAddress, [salt(M1, P, 1n) | DEPLOY_FLAG, salt(99n, P, 1n) | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      expect(await usdc.balanceOf(await addr(vault, M1, P, 1n))).to.equal(1_000n);
    });

    it("merchant id 0 with funds reverts VaultUnknownMerchant(0)", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator } = await load();
      const s0 = salt(0n, P, 1n);
      await usdc.mint(computeDepositAddress(vaultAddress, s0), 5n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s0 | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(0n);
    });

    it("an unknown merchant's entry reverts even with nothing to move, before anything is deployed", async function () {
      const { vault, usdcAddress, operator } = await load();
      const s = salt(99n, P, 1n);
      await expect(vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      expect(await ethers.provider.getCode(await addr(vault, 99n, P, 1n))).to.equal("0x");
    });
  });
});
