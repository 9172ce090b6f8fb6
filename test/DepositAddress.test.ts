import { expect } from "chai";
import { network } from "hardhat";
import {
  DEPLOY_FLAG,
  DepositKind,
  M1,
  M1_FEE,
  M2,
  NATIVE,
  OPERATOR_ROLE,
  computeDepositAddress,
  deployVault,
  expectAccount,
  feeOf,
  initCode,
  runtimeCode,
  salt,
} from "./helpers/vault.js";

const { ethers, networkHelpers } = await network.create();

const KEY_MAX = (1n << 184n) - 1n;
const ID_MAX = (1n << 64n) - 1n;

describe("Deposit addresses", function () {
  const load = () => networkHelpers.loadFixture(deployVault);

  /** Deploys the (M1, Payment, key) address through the operator and returns it. */
  async function deployed(key: bigint) {
    const b = await load();
    const addr = await b.vault.predictDepositAddress(M1, DepositKind.Payment, key);
    await b.vault.connect(b.operator).deployDepositAddresses([salt(M1, DepositKind.Payment, key)]);
    return { ...b, addr };
  }

  describe("depositSalt and predictDepositAddress", function () {
    it("depositSalt is merchantId << 192 | kind << 184 | key", async function () {
      const { vault } = await load();
      const cases: [bigint, number, bigint][] = [
        [M1, DepositKind.Payment, 0n],
        [M1, DepositKind.Recharge, 1n],
        [M2, DepositKind.Payment, 123456789n],
        [ID_MAX, DepositKind.Recharge, KEY_MAX],
      ];
      for (const [m, k, key] of cases) {
        const expected = (m << 192n) | (BigInt(k) << 184n) | key;
        expect(await vault.depositSalt(m, k, key)).to.equal(expected);
        expect(salt(m, k, key)).to.equal(expected);
        // the deploy flag is never part of a salt
        expect(expected & DEPLOY_FLAG).to.equal(0n);
      }
    });

    it("predictDepositAddress equals the CREATE2 address computed off-chain from DEPOSIT_INIT_CODE_HASH", async function () {
      const { vault, vaultAddress } = await load();
      const hash = await vault.DEPOSIT_INIT_CODE_HASH();
      expect(hash).to.equal(ethers.keccak256(initCode(vaultAddress)));
      const cases: [bigint, number, bigint][] = [
        [M1, DepositKind.Payment, 0n],
        [M1, DepositKind.Payment, 1n],
        [M1, DepositKind.Recharge, 1n],
        [M2, DepositKind.Payment, 1n],
        [ID_MAX, DepositKind.Recharge, KEY_MAX],
        [42n, DepositKind.Payment, 0xdeadbeefn],
      ];
      const seen = new Set<string>();
      for (const [m, k, key] of cases) {
        const s = salt(m, k, key);
        const offChain = ethers.getCreate2Address(vaultAddress, ethers.toBeHex(s, 32), hash);
        expect(await vault.predictDepositAddress(m, k, key)).to.equal(offChain);
        expect(computeDepositAddress(vaultAddress, s)).to.equal(offChain);
        seen.add(offChain);
      }
      expect(seen.size).to.equal(cases.length);
    });

    it("is a pure function of (vault, merchant, kind, key): another vault predicts other addresses", async function () {
      const { vault, admin, operator, feeRecipient } = await load();
      const other = await ethers.deployContract("PaymentVault", [admin, operator, feeRecipient]);
      expect(await other.DEPOSIT_INIT_CODE_HASH()).to.not.equal(await vault.DEPOSIT_INIT_CODE_HASH());
      expect(await other.predictDepositAddress(M1, DepositKind.Payment, 1n)).to.not.equal(
        await vault.predictDepositAddress(M1, DepositKind.Payment, 1n),
      );
    });

    it("reverts on merchant id 0, kind None, a key wider than 184 bits; an out-of-range kind fails ABI decoding", async function () {
      const { vault } = await load();
      for (const fn of ["depositSalt", "predictDepositAddress"] as const) {
        await expect(vault[fn](0n, DepositKind.Payment, 1n)).to.be.revertedWithCustomError(vault, "VaultInvalidMerchantId");
        await expect(vault[fn](M1, DepositKind.None, 1n))
          .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
          .withArgs(0);
        await expect(vault[fn](M1, DepositKind.Payment, KEY_MAX + 1n))
          .to.be.revertedWithCustomError(vault, "VaultDepositKeyTooLarge")
          .withArgs(KEY_MAX + 1n);
        await expect(vault[fn](M1, 3, 1n)).to.be.revertedWithoutReason(ethers);
      }
    });

    it("does not require the merchant to be registered (addresses can be handed out before registration)", async function () {
      const { vault, vaultAddress } = await load();
      expect(await vault.predictDepositAddress(77n, DepositKind.Payment, 1n)).to.equal(
        computeDepositAddress(vaultAddress, salt(77n, DepositKind.Payment, 1n)),
      );
    });
  });

  describe("deployDepositAddresses", function () {
    it("deploys the documented 69-byte runtime code and emits DepositAddressDeployed(address, salt)", async function () {
      const { vault, vaultAddress, operator } = await load();
      const s1 = salt(M1, DepositKind.Payment, 1n);
      const s2 = salt(M2, DepositKind.Recharge, KEY_MAX);
      const a1 = computeDepositAddress(vaultAddress, s1);
      const a2 = computeDepositAddress(vaultAddress, s2);
      expect(await ethers.provider.getCode(a1)).to.equal("0x");
      await expect(vault.connect(operator).deployDepositAddresses([s1, s2]))
        .to.emit(vault, "DepositAddressDeployed")
        .withArgs(a1, s1)
        .and.to.emit(vault, "DepositAddressDeployed")
        .withArgs(a2, s2);
      for (const a of [a1, a2]) {
        const code = await ethers.provider.getCode(a);
        expect(code).to.equal(runtimeCode(vaultAddress));
        expect(ethers.dataLength(code)).to.equal(69);
      }
    });

    it("passes over addresses that already have code", async function () {
      const { vault, operator, addr } = await deployed(1n);
      const s1 = salt(M1, DepositKind.Payment, 1n);
      const s2 = salt(M1, DepositKind.Payment, 2n);
      const tx = vault.connect(operator).deployDepositAddresses([s1, s2, s2]);
      await expect(tx)
        .to.emit(vault, "DepositAddressDeployed")
        .withArgs(await vault.predictDepositAddress(M1, 1, 2n), s2);
      const receipt = await (await tx).wait();
      const deployedLogs = receipt!.logs.filter((l) => l.topics[0] === vault.interface.getEvent("DepositAddressDeployed").topicHash);
      expect(deployedLogs.length).to.equal(1);
      expect(await ethers.provider.getCode(addr)).to.equal(runtimeCode(await vault.getAddress()));
    });

    it("requires OPERATOR_ROLE, a registered merchant and a valid kind", async function () {
      const { vault, operator, admin } = await load();
      await expect(vault.connect(admin).deployDepositAddresses([salt(M1, 1, 1n)]))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, OPERATOR_ROLE);
      await expect(vault.connect(operator).deployDepositAddresses([salt(99n, 1, 1n)]))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      await expect(vault.connect(operator).deployDepositAddresses([salt(0n, 1, 1n)]))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(0n);
      await expect(vault.connect(operator).deployDepositAddresses([salt(M1, 0, 1n)]))
        .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
        .withArgs(0);
      await expect(vault.connect(operator).deployDepositAddresses([salt(M1, 3, 1n)]))
        .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
        .withArgs(3);
      // A salt carrying the deploy flag names kind 0x81: not a salt.
      await expect(vault.connect(operator).deployDepositAddresses([salt(M1, 1, 1n) | DEPLOY_FLAG]))
        .to.be.revertedWithCustomError(vault, "VaultInvalidDepositKind")
        .withArgs(0x81);
      // One bad salt reverts the whole batch.
      const good = salt(M1, 1, 5n);
      await expect(vault.connect(operator).deployDepositAddresses([good, salt(M1, 0, 1n)])).to.be.revertedWithCustomError(
        vault,
        "VaultInvalidDepositKind",
      );
      expect(await ethers.provider.getCode(await vault.predictDepositAddress(M1, 1, 5n))).to.equal("0x");
    });

    it("accepts an empty list", async function () {
      const { vault, operator } = await load();
      await expect(vault.connect(operator).deployDepositAddresses([])).to.not.emit(vault, "DepositAddressDeployed");
    });
  });

  describe("receiving the native coin", function () {
    it("a plain transfer to an undeployed address works (21,000 gas, no log)", async function () {
      const { vault, payer } = await load();
      const addr = await vault.predictDepositAddress(M1, DepositKind.Payment, 1n);
      const tx = payer.sendTransaction({ to: addr, value: 1000n, gasLimit: 21_000n });
      await expect(tx).to.changeEtherBalances(ethers, [payer, addr], [-1000n, 1000n]);
      const receipt = await (await tx).wait();
      expect(receipt!.gasUsed).to.equal(21_000n);
      expect(receipt!.logs.length).to.equal(0);
    });

    it("after deployment, a plain transfer emits LOG3(topic0 = vault, topic1 = sender, topic2 = value) from the address", async function () {
      const { vaultAddress, payer, addr } = await deployed(1n);
      const value = 123_456_789n;
      const tx = payer.sendTransaction({ to: addr, value });
      await expect(tx).to.changeEtherBalances(ethers, [payer, addr], [-value, value]);
      const receipt = await (await tx).wait();
      expect(receipt!.status).to.equal(1);
      expect(receipt!.logs.length).to.equal(1);
      const log = receipt!.logs[0];
      expect(log.address).to.equal(addr);
      expect(log.data).to.equal("0x");
      expect(log.topics).to.deep.equal([
        ethers.zeroPadValue(vaultAddress, 32).toLowerCase(),
        ethers.zeroPadValue(payer.address, 32).toLowerCase(),
        ethers.toBeHex(value, 32),
      ]);
      // 21,000 + ~1,560 gas: documented in DepositAddressCode.
      expect(receipt!.gasUsed).to.be.greaterThan(21_000n);
      expect(receipt!.gasUsed).to.be.lessThan(23_000n);
    });

    it("a zero-value call and a call with calldata from a stranger also just log", async function () {
      const { vaultAddress, stranger, addr } = await deployed(1n);
      const receipt = await (await stranger.sendTransaction({ to: addr, data: "0x1234" })).wait();
      expect(receipt!.logs.length).to.equal(1);
      expect(receipt!.logs[0].topics).to.deep.equal([
        ethers.zeroPadValue(vaultAddress, 32).toLowerCase(),
        ethers.zeroPadValue(stranger.address, 32).toLowerCase(),
        ethers.ZeroHash,
      ]);
    });

    it("Solidity transfer() (2,300-gas stipend) to a deployed address works and logs the sending contract", async function () {
      const { vaultAddress, payer, addr } = await deployed(1n);
      const sender = await ethers.deployContract("NativeSender");
      const tx = sender.connect(payer).sendWithTransfer(addr, { value: 5000n });
      await expect(tx).to.changeEtherBalances(ethers, [payer, addr], [-5000n, 5000n]);
      const receipt = await (await tx).wait();
      const log = receipt!.logs.find((l) => l.address === addr)!;
      expect(log.topics).to.deep.equal([
        ethers.zeroPadValue(vaultAddress, 32).toLowerCase(),
        ethers.zeroPadValue(await sender.getAddress(), 32).toLowerCase(),
        ethers.toBeHex(5000n, 32),
      ]);
    });

    it("a value call with a zero gas limit still succeeds on the 2,300-gas stipend", async function () {
      const { payer, addr } = await deployed(1n);
      const sender = await ethers.deployContract("NativeSender");
      expect(await sender.connect(payer).sendWithGas.staticCall(addr, 0n, { value: 1n })).to.equal(true);
      await expect(sender.connect(payer).sendWithGas(addr, 0n, { value: 7n })).to.changeEtherBalance(ethers, addr, 7n);
    });

    it("DOCUMENTED LIMITATION: a transaction with a fixed 21,000 gas limit to a deployed address fails", async function () {
      const { payer, addr } = await deployed(1n);
      const before = await ethers.provider.getBalance(addr);
      await expect(payer.sendTransaction({ to: addr, value: 1000n, gasLimit: 21_000n })).to.revert(ethers);
      expect(await ethers.provider.getBalance(addr)).to.equal(before);
      // ...which is why only the operator may deploy addresses ahead of a sweep.
    });
  });

  describe("commands", function () {
    it("only the vault can command an address: a stranger's forward command moves nothing and only logs", async function () {
      const { vault, vaultAddress, usdc, stranger, payer, operator, addr } = await deployed(1n);
      await usdc.mint(addr, 1_000n);
      await payer.sendTransaction({ to: addr, value: 1_000n });
      // target | value | data, exactly what the vault sends
      const transferData = usdc.interface.encodeFunctionData("transfer", [stranger.address, 1_000n]);
      const tokenCmd = ethers.concat([ethers.zeroPadValue(await usdc.getAddress(), 32), ethers.toBeHex(0n, 32), transferData]);
      const nativeCmd = ethers.concat([ethers.zeroPadValue(stranger.address, 32), ethers.toBeHex(1_000n, 32)]);
      for (const data of [tokenCmd, nativeCmd]) {
        const receipt = await (await stranger.sendTransaction({ to: addr, data })).wait();
        expect(receipt!.logs.length).to.equal(1);
        expect(receipt!.logs[0].address).to.equal(addr);
        expect(receipt!.logs[0].topics[0]).to.equal(ethers.zeroPadValue(vaultAddress, 32).toLowerCase());
      }
      expect(await usdc.balanceOf(addr)).to.equal(1_000n);
      expect(await ethers.provider.getBalance(addr)).to.equal(1_000n);
      // The vault itself still sweeps both.
      await expect(vault.connect(operator).sweep(await usdc.getAddress(), [salt(M1, 1, 1n)], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, await usdc.getAddress(), 1_000n, 10n);
      await expect(vault.connect(operator).sweep(NATIVE, [salt(M1, 1, 1n)], []))
        .to.emit(vault, "NativeSwept")
        .withArgs(addr, 1_000n);
      expect(await usdc.balanceOf(addr)).to.equal(0n);
      expect(await ethers.provider.getBalance(addr)).to.equal(0n);
    });

    it("funds sent before deployment (token and native) are swept after, with the deploy flag", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator, payer } = await load();
      const s = salt(M1, DepositKind.Recharge, 77n);
      const addr = computeDepositAddress(vaultAddress, s);
      await usdc.mint(addr, 2_000_000n);
      await payer.sendTransaction({ to: addr, value: 3_000_000n });
      expect(await ethers.provider.getCode(addr)).to.equal("0x");

      await expect(vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []))
        .to.emit(vault, "DepositAddressDeployed")
        .withArgs(addr, s)
        .and.to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 2_000_000n, feeOf(2_000_000n, M1_FEE));
      expect(await ethers.provider.getCode(addr)).to.equal(runtimeCode(vaultAddress));
      expect(await usdc.balanceOf(addr)).to.equal(0n);
      expect(await usdc.balanceOf(vaultAddress)).to.equal(2_000_000n);

      // Now deployed: swept without the flag.
      await expect(vault.connect(operator).sweep(NATIVE, [s], []))
        .to.emit(vault, "NativeSwept")
        .withArgs(addr, 3_000_000n)
        .and.to.emit(vault, "Swept")
        .withArgs(M1, NATIVE, 3_000_000n, feeOf(3_000_000n, M1_FEE));
      expect(await ethers.provider.getBalance(addr)).to.equal(0n);
      expect(await ethers.provider.getBalance(vaultAddress)).to.equal(3_000_000n);
      await expectAccount(vault, M1, usdcAddress, 2_000_000n - feeOf(2_000_000n, M1_FEE), feeOf(2_000_000n, M1_FEE));
      await expectAccount(vault, M1, NATIVE, 3_000_000n - feeOf(3_000_000n, M1_FEE), feeOf(3_000_000n, M1_FEE));
    });

    it("an address can be deployed for a merchant registered after the payment arrived", async function () {
      const { vault, vaultAddress, usdc, usdcAddress, operator, alice } = await load();
      const s = salt(50n, DepositKind.Payment, 1n);
      const addr = computeDepositAddress(vaultAddress, s);
      await usdc.mint(addr, 900n);
      await vault.registerMerchant(50n, alice, 0);
      await expect(vault.connect(operator).sweep(usdcAddress, [s | DEPLOY_FLAG], []))
        .to.emit(vault, "Swept")
        .withArgs(50n, usdcAddress, 900n, 0n);
      await expectAccount(vault, 50n, usdcAddress, 900n, 0n);
    });
  });
});
