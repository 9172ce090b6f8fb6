import { expect } from "chai";
import { network } from "hardhat";
import {
  DEFAULT_ADMIN_ROLE,
  DEPLOY_FLAG,
  DepositKind,
  M1,
  M1_FEE,
  M2,
  M2_FEE,
  MAX_FEE_BPS,
  MAX_TOKENS,
  MERCHANT_ADMIN_ROLE,
  NATIVE,
  OPERATOR_ROLE,
  PAUSER_ROLE,
  PayoutKind,
  ZERO,
  deadlineIn,
  depositAndSweep,
  deployVault,
  expectAccount,
  feeOf,
  initCode,
  salt,
  signPayout,
} from "./helpers/vault.js";

const { ethers, networkHelpers } = await network.create();

describe("PaymentVault: administration", function () {
  const load = () => networkHelpers.loadFixture(deployVault);

  describe("constructor", function () {
    it("reverts on a zero admin, operator or fee recipient, naming the parameter", async function () {
      const [a, o, f] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("PaymentVault");
      await expect(factory.deploy(ZERO, o, f))
        .to.be.revertedWithCustomError(factory, "VaultZeroAddress")
        .withArgs("admin");
      await expect(factory.deploy(a, ZERO, f))
        .to.be.revertedWithCustomError(factory, "VaultZeroAddress")
        .withArgs("operator");
      await expect(factory.deploy(a, o, ZERO))
        .to.be.revertedWithCustomError(factory, "VaultZeroAddress")
        .withArgs("feeRecipient");
    });

    it("grants the admin DEFAULT_ADMIN, MERCHANT_ADMIN and PAUSER, the operator only OPERATOR", async function () {
      const { vault, admin, operator, feeRecipient } = await load();
      for (const role of [DEFAULT_ADMIN_ROLE, MERCHANT_ADMIN_ROLE, PAUSER_ROLE]) {
        expect(await vault.hasRole(role, admin)).to.equal(true);
        expect(await vault.hasRole(role, operator)).to.equal(false);
      }
      expect(await vault.hasRole(OPERATOR_ROLE, operator)).to.equal(true);
      expect(await vault.hasRole(OPERATOR_ROLE, admin)).to.equal(false);
      for (const role of [DEFAULT_ADMIN_ROLE, MERCHANT_ADMIN_ROLE, PAUSER_ROLE, OPERATOR_ROLE]) {
        expect(await vault.hasRole(role, feeRecipient)).to.equal(false);
        expect(await vault.getRoleAdmin(role)).to.equal(DEFAULT_ADMIN_ROLE);
      }
      expect(await vault.feeRecipient()).to.equal(feeRecipient.address);
      expect(await vault.paused()).to.equal(false);
    });

    it("emits FeeRecipientChanged(0, feeRecipient) and fixes DEPOSIT_INIT_CODE_HASH to the documented init code", async function () {
      const [a, o, f] = await ethers.getSigners();
      const vault = await ethers.deployContract("PaymentVault", [a, o, f]);
      await expect(vault.deploymentTransaction()).to.emit(vault, "FeeRecipientChanged").withArgs(ZERO, f.address);
      expect(await vault.DEPOSIT_INIT_CODE_HASH()).to.equal(ethers.keccak256(initCode(await vault.getAddress())));
    });

    it("exposes the documented constants and EIP-712 domain", async function () {
      const { vault, vaultAddress } = await load();
      expect(await vault.OPERATOR_ROLE()).to.equal(OPERATOR_ROLE);
      expect(await vault.MERCHANT_ADMIN_ROLE()).to.equal(MERCHANT_ADMIN_ROLE);
      expect(await vault.PAUSER_ROLE()).to.equal(PAUSER_ROLE);
      expect(await vault.MAX_FEE_BPS()).to.equal(MAX_FEE_BPS);
      expect(await vault.MAX_TOKENS()).to.equal(MAX_TOKENS);
      expect(await vault.DEPLOY_FLAG()).to.equal(DEPLOY_FLAG);
      expect(await vault.PAYOUT_TYPEHASH()).to.equal(
        ethers.id("Payout(uint64 merchantId,uint8 kind,address token,address to,uint256 amount,uint256 payoutId,uint64 deadline)"),
      );
      const d = await vault.eip712Domain();
      const { chainId } = await ethers.provider.getNetwork();
      expect(d.name).to.equal("PaymentVault");
      expect(d.version).to.equal("1");
      expect(d.chainId).to.equal(chainId);
      expect(d.verifyingContract).to.equal(vaultAddress);
    });
  });

  describe("roles", function () {
    it("only DEFAULT_ADMIN grants and revokes roles", async function () {
      const { vault, admin, stranger, alice } = await load();
      await expect(vault.connect(stranger).grantRole(OPERATOR_ROLE, stranger))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      await expect(vault.connect(admin).grantRole(OPERATOR_ROLE, alice))
        .to.emit(vault, "RoleGranted")
        .withArgs(OPERATOR_ROLE, alice.address, admin.address);
      expect(await vault.hasRole(OPERATOR_ROLE, alice)).to.equal(true);
      await expect(vault.connect(admin).revokeRole(OPERATOR_ROLE, alice))
        .to.emit(vault, "RoleRevoked")
        .withArgs(OPERATOR_ROLE, alice.address, admin.address);
      expect(await vault.hasRole(OPERATOR_ROLE, alice)).to.equal(false);
    });

    it("a role holder may renounce only its own role", async function () {
      const { vault, operator, stranger } = await load();
      await expect(vault.connect(stranger).renounceRole(OPERATOR_ROLE, operator)).to.be.revertedWithCustomError(
        vault,
        "AccessControlBadConfirmation",
      );
      await vault.connect(operator).renounceRole(OPERATOR_ROLE, operator);
      expect(await vault.hasRole(OPERATOR_ROLE, operator)).to.equal(false);
      await expect(vault.connect(operator).sweep(NATIVE, [], []))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, OPERATOR_ROLE);
    });

    it("supports the IAccessControl and ERC-165 interfaces", async function () {
      const { vault } = await load();
      expect(await vault.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await vault.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await vault.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("no admin role can move a merchant's balance or change its signer", async function () {
      const b = await load();
      const { vault, usdc, admin, operator, merchant1 } = b;
      await depositAndSweep(b, usdc, M1, 1n, 1_000_000n);
      const p = {
        merchantId: M1,
        kind: PayoutKind.Withdrawal,
        token: b.usdcAddress,
        to: admin.address,
        amount: 1n,
        payoutId: 1n,
        deadline: await deadlineIn(ethers, 3600n),
      };
      for (const who of [admin, operator]) {
        await expect(vault.connect(who).payoutByMerchant(p))
          .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
          .withArgs(M1, who.address);
        await expect(vault.connect(who).setMerchantSigner(M1, who))
          .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
          .withArgs(M1, who.address);
        await expect(vault.connect(who).cancelPayout(M1, 1n))
          .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
          .withArgs(M1, who.address);
        const sig = await signPayout(ethers, who, b.vaultAddress, p);
        await expect(vault.payout(p, sig)).to.be.revertedWithCustomError(vault, "VaultInvalidSignature").withArgs(M1);
      }
      expect((await vault.merchant(M1)).signer).to.equal(merchant1.address);
      await expectAccount(vault, M1, b.usdcAddress, 1_000_000n - feeOf(1_000_000n, M1_FEE), feeOf(1_000_000n, M1_FEE));
    });
  });

  describe("registerMerchant", function () {
    it("registers a merchant and emits MerchantRegistered", async function () {
      const { vault, admin, alice } = await load();
      await expect(vault.connect(admin).registerMerchant(7n, alice, MAX_FEE_BPS))
        .to.emit(vault, "MerchantRegistered")
        .withArgs(7n, alice.address, MAX_FEE_BPS);
      const m = await vault.merchant(7n);
      expect(m.signer).to.equal(alice.address);
      expect(m.feeBps).to.equal(MAX_FEE_BPS);
      expect(m.payoutRange).to.equal(0n);
      expect(m.payoutBits).to.equal(0n);
    });

    it("accepts the largest merchant id and a zero fee", async function () {
      const { vault, alice } = await load();
      const maxId = (1n << 64n) - 1n;
      await expect(vault.registerMerchant(maxId, alice, 0))
        .to.emit(vault, "MerchantRegistered")
        .withArgs(maxId, alice.address, 0);
      expect((await vault.merchant(maxId)).feeBps).to.equal(0n);
    });

    it("requires MERCHANT_ADMIN_ROLE", async function () {
      const { vault, operator, alice } = await load();
      await expect(vault.connect(operator).registerMerchant(7n, alice, 0))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, MERCHANT_ADMIN_ROLE);
    });

    it("reverts on merchant id 0, an existing id, a zero signer and a fee above the cap", async function () {
      const { vault, alice } = await load();
      await expect(vault.registerMerchant(0n, alice, 0)).to.be.revertedWithCustomError(vault, "VaultInvalidMerchantId");
      await expect(vault.registerMerchant(M1, alice, 0))
        .to.be.revertedWithCustomError(vault, "VaultMerchantExists")
        .withArgs(M1);
      await expect(vault.registerMerchant(7n, ZERO, 0))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("signer");
      await expect(vault.registerMerchant(7n, alice, MAX_FEE_BPS + 1n))
        .to.be.revertedWithCustomError(vault, "VaultFeeTooHigh")
        .withArgs(MAX_FEE_BPS + 1n, MAX_FEE_BPS);
      expect((await vault.merchant(7n)).signer).to.equal(ZERO);
    });
  });

  describe("setMerchantFee", function () {
    it("changes the fee and emits MerchantFeeChanged(previous, new)", async function () {
      const { vault } = await load();
      await expect(vault.setMerchantFee(M1, 42)).to.emit(vault, "MerchantFeeChanged").withArgs(M1, M1_FEE, 42);
      expect((await vault.merchant(M1)).feeBps).to.equal(42n);
      await expect(vault.setMerchantFee(M1, MAX_FEE_BPS)).to.emit(vault, "MerchantFeeChanged").withArgs(M1, 42, MAX_FEE_BPS);
      // M2 untouched
      expect((await vault.merchant(M2)).feeBps).to.equal(M2_FEE);
    });

    it("requires MERCHANT_ADMIN_ROLE, a registered merchant and a fee within the cap", async function () {
      const { vault, operator } = await load();
      await expect(vault.connect(operator).setMerchantFee(M1, 1))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, MERCHANT_ADMIN_ROLE);
      await expect(vault.setMerchantFee(99n, 1)).to.be.revertedWithCustomError(vault, "VaultUnknownMerchant").withArgs(99n);
      await expect(vault.setMerchantFee(M1, 501)).to.be.revertedWithCustomError(vault, "VaultFeeTooHigh").withArgs(501, MAX_FEE_BPS);
      expect((await vault.merchant(M1)).feeBps).to.equal(M1_FEE);
    });
  });

  describe("setMerchantSigner", function () {
    it("only the current signer hands over authority; emits MerchantSignerChanged", async function () {
      const { vault, merchant1, alice } = await load();
      await expect(vault.connect(merchant1).setMerchantSigner(M1, alice))
        .to.emit(vault, "MerchantSignerChanged")
        .withArgs(M1, merchant1.address, alice.address);
      expect((await vault.merchant(M1)).signer).to.equal(alice.address);
      // The previous signer has lost its authority.
      await expect(vault.connect(merchant1).setMerchantSigner(M1, merchant1))
        .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
        .withArgs(M1, merchant1.address);
      await expect(vault.connect(alice).setMerchantSigner(M1, merchant1))
        .to.emit(vault, "MerchantSignerChanged")
        .withArgs(M1, alice.address, merchant1.address);
    });

    it("reverts for another merchant's signer, an unknown merchant and a zero new signer", async function () {
      const { vault, merchant1, merchant2 } = await load();
      await expect(vault.connect(merchant2).setMerchantSigner(M1, merchant2))
        .to.be.revertedWithCustomError(vault, "VaultNotMerchantSigner")
        .withArgs(M1, merchant2.address);
      await expect(vault.connect(merchant1).setMerchantSigner(99n, merchant1))
        .to.be.revertedWithCustomError(vault, "VaultUnknownMerchant")
        .withArgs(99n);
      await expect(vault.connect(merchant1).setMerchantSigner(M1, ZERO))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("newSigner");
    });
  });

  describe("setTokenAllowed", function () {
    it("allows and removes a token, emitting TokenAllowed", async function () {
      const { vault, stranger } = await load();
      const token = stranger.address; // any address can be listed
      expect(await vault.isTokenAllowed(token)).to.equal(false);
      await expect(vault.setTokenAllowed(token, true)).to.emit(vault, "TokenAllowed").withArgs(token, true);
      expect(await vault.isTokenAllowed(token)).to.equal(true);
      await expect(vault.setTokenAllowed(token, true)).to.emit(vault, "TokenAllowed").withArgs(token, true);
      await expect(vault.setTokenAllowed(token, false)).to.emit(vault, "TokenAllowed").withArgs(token, false);
      expect(await vault.isTokenAllowed(token)).to.equal(false);
      // removing a token that was never listed is accepted too
      await expect(vault.setTokenAllowed(ethers.Wallet.createRandom().address, false)).to.emit(vault, "TokenAllowed");
    });

    it("requires MERCHANT_ADMIN_ROLE", async function () {
      const { vault, operator, usdcAddress } = await load();
      await expect(vault.connect(operator).setTokenAllowed(usdcAddress, false))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, MERCHANT_ADMIN_ROLE);
    });

    it(`caps the tokens allowlisted at once at MAX_TOKENS (${MAX_TOKENS}); a removed token frees its place`, async function () {
      const { vault, usdcAddress } = await load();
      // usdc and the native coin are allowlisted already: add 62 more.
      const extra: string[] = [];
      for (let i = 0n; i < MAX_TOKENS - 2n; i++) extra.push(ethers.getAddress(ethers.toBeHex(0x1000n + i, 20)));
      for (const t of extra) await vault.setTokenAllowed(t, true);
      const next = ethers.getAddress(ethers.toBeHex(0x9999n, 20));
      await expect(vault.setTokenAllowed(next, true)).to.be.revertedWithCustomError(vault, "VaultTooManyTokens").withArgs(MAX_TOKENS);
      // Issue 11: before, a removed token still counted; now removing one frees a place.
      await vault.setTokenAllowed(extra[0], false);
      await expect(vault.setTokenAllowed(next, true)).to.emit(vault, "TokenAllowed").withArgs(next, true);
      expect((await vault.allowedTokens()).length).to.equal(Number(MAX_TOKENS));
      expect(await vault.allowedTokens()).to.not.include(extra[0]);
      await expect(vault.setTokenAllowed(extra[0], true)).to.be.revertedWithCustomError(vault, "VaultTooManyTokens");
      // Allowing an allowed token again or removing one that is not allowed changes nothing.
      await expect(vault.setTokenAllowed(usdcAddress, true)).to.emit(vault, "TokenAllowed");
      await expect(vault.setTokenAllowed(extra[0], false)).to.emit(vault, "TokenAllowed").withArgs(extra[0], false);
      expect((await vault.allowedTokens()).length).to.equal(Number(MAX_TOKENS));
      // setMerchantFee walks all 64 allowlisted tokens and still fits in a block.
      await expect(vault.setMerchantFee(M1, 1)).to.emit(vault, "MerchantFeeChanged");
    });

    it("a token removed and allowed again takes each merchant's current fee afresh (its allowlist epoch)", async function () {
      const b = await load();
      const { vault, usdc, usdcAddress } = b;
      await depositAndSweep(b, usdc, M1, 1n, 10_000n); // M1's usdc account copies its 1% fee
      await vault.setTokenAllowed(usdcAddress, false);
      await vault.setMerchantFee(M1, 300); // does not reach usdc, which is not allowlisted now
      await vault.setTokenAllowed(usdcAddress, true);
      const addr = await depositAndSweep(b, usdc, M1, 2n, 10_000n);
      expect(addr).to.be.properAddress;
      await expectAccount(vault, M1, usdcAddress, 9_900n + 9_700n, 100n + 300n);
    });
  });

  describe("setFeeRecipient", function () {
    it("only DEFAULT_ADMIN sets a non-zero recipient; emits FeeRecipientChanged", async function () {
      const { vault, admin, feeRecipient, alice, stranger } = await load();
      await expect(vault.connect(stranger).setFeeRecipient(stranger))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      await expect(vault.connect(admin).setFeeRecipient(ZERO))
        .to.be.revertedWithCustomError(vault, "VaultZeroAddress")
        .withArgs("feeRecipient");
      await expect(vault.connect(admin).setFeeRecipient(alice))
        .to.emit(vault, "FeeRecipientChanged")
        .withArgs(feeRecipient.address, alice.address);
      expect(await vault.feeRecipient()).to.equal(alice.address);
    });

    it("a MERCHANT_ADMIN without DEFAULT_ADMIN cannot set it", async function () {
      const { vault, admin, alice } = await load();
      await vault.connect(admin).grantRole(MERCHANT_ADMIN_ROLE, alice);
      await expect(vault.connect(alice).setFeeRecipient(alice))
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(alice.address, DEFAULT_ADMIN_ROLE);
    });
  });

  describe("pause and unpause", function () {
    it("a token removed while paused, never allowed before, sweeps as not allowed after unpause", async function () {
      const { vault, admin, operator } = await load();
      const never = await (await ethers.deployContract("MockERC20", ["Never", "NEV", 18])).getAddress();
      await vault.connect(admin).pause();
      await vault.connect(admin).setTokenAllowed(never, false);
      await vault.connect(admin).unpause();
      await expect(vault.connect(operator).sweep(never, [], []))
        .to.be.revertedWithCustomError(vault, "VaultTokenNotAllowed")
        .withArgs(never);
      // Allowed while paused: paused until unpause, then sweepable.
      await vault.connect(admin).pause();
      await vault.connect(admin).setTokenAllowed(never, true);
      await expect(vault.connect(operator).sweep(never, [], [])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await vault.connect(admin).unpause();
      await expect(vault.connect(operator).sweep(never, [], [])).to.not.revert(ethers);
    });

    it("require PAUSER_ROLE and emit Paused/Unpaused; double calls revert", async function () {
      const { vault, admin, operator } = await load();
      await expect(vault.connect(operator).pause())
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, PAUSER_ROLE);
      await expect(vault.connect(admin).unpause()).to.be.revertedWithCustomError(vault, "ExpectedPause");
      await expect(vault.connect(admin).pause()).to.emit(vault, "Paused").withArgs(admin.address);
      expect(await vault.paused()).to.equal(true);
      await expect(vault.connect(admin).pause()).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(vault.connect(operator).unpause())
        .to.be.revertedWithCustomError(vault, "AccessControlUnauthorizedAccount")
        .withArgs(operator.address, PAUSER_ROLE);
      await expect(vault.connect(admin).unpause()).to.emit(vault, "Unpaused").withArgs(admin.address);
      expect(await vault.paused()).to.equal(false);
    });

    it("blocks sweeps, payouts, payoutByMerchant, fee claims and rescues; they work again after unpause", async function () {
      const b = await load();
      const { vault, usdc, usdcAddress, admin, operator, merchant1, alice, feeRecipient } = b;
      await depositAndSweep(b, usdc, M1, 1n, 1_000_000n);
      const addr2 = await vault.predictDepositAddress(M1, DepositKind.Payment, 2n);
      await usdc.mint(addr2, 500n);
      const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
      const addr3 = await vault.predictDepositAddress(M1, DepositKind.Payment, 3n);
      await other.mint(addr3, 77n);
      const p = {
        merchantId: M1,
        kind: PayoutKind.Refund,
        token: usdcAddress,
        to: alice.address,
        amount: 1000n,
        payoutId: 1n,
        deadline: await deadlineIn(ethers, 3600n),
      };
      const sig = await signPayout(ethers, merchant1, b.vaultAddress, p);
      const p2 = { ...p, payoutId: 2n };

      await vault.connect(admin).pause();
      const s2 = salt(M1, DepositKind.Payment, 2n) | DEPLOY_FLAG;
      await expect(vault.connect(operator).sweep(usdcAddress, [s2], [])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(vault.connect(operator).sweep(NATIVE, [], [])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(vault.payout(p, sig)).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(vault.connect(merchant1).payoutByMerchant(p2)).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(vault.claimFees(usdcAddress, [M1])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await expect(
        vault.connect(merchant1).rescueDepositToken(salt(M1, DepositKind.Payment, 3n), other, alice, 77n),
      ).to.be.revertedWithCustomError(vault, "EnforcedPause");

      // A sweep of a token that is not allowlisted still says so while paused.
      await expect(vault.connect(operator).sweep(await other.getAddress(), [], []))
        .to.be.revertedWithCustomError(vault, "VaultTokenNotAllowed")
        .withArgs(await other.getAddress());

      // A token allowlisted while paused is paused too.
      await vault.setTokenAllowed(other, true);
      await expect(vault.connect(operator).sweep(await other.getAddress(), [], [])).to.be.revertedWithCustomError(vault, "EnforcedPause");
      await vault.setTokenAllowed(other, false);

      // Not blocked: configuration, cancelling a payout id, deploying addresses.
      await expect(vault.connect(merchant1).cancelPayout(M1, 5n)).to.emit(vault, "PayoutCancelled").withArgs(M1, 5n);
      await expect(vault.connect(operator).deployDepositAddresses([salt(M1, DepositKind.Recharge, 9n)])).to.emit(
        vault,
        "DepositAddressDeployed",
      );
      await expect(vault.setMerchantFee(M2, 0)).to.emit(vault, "MerchantFeeChanged");
      await expect(vault.registerMerchant(9n, alice, 0)).to.emit(vault, "MerchantRegistered");

      await vault.connect(admin).unpause();
      await vault.connect(operator).deployDepositAddresses([salt(M1, DepositKind.Payment, 3n)]);
      await expect(vault.connect(operator).sweep(usdcAddress, [s2], []))
        .to.emit(vault, "Swept")
        .withArgs(M1, usdcAddress, 500n, feeOf(500n, M1_FEE));
      await expect(vault.payout(p, sig)).to.emit(vault, "PayoutExecuted");
      await expect(vault.connect(merchant1).payoutByMerchant(p2)).to.emit(vault, "PayoutExecuted");
      const fees = feeOf(1_000_000n, M1_FEE) + feeOf(500n, M1_FEE);
      await expect(vault.claimFees(usdcAddress, [M1]))
        .to.emit(vault, "FeesClaimed")
        .withArgs(usdcAddress, feeRecipient.address, fees);
      await expect(
        vault.connect(merchant1).rescueDepositToken(salt(M1, DepositKind.Payment, 3n), other, alice, 77n),
      ).to.changeTokenBalances(ethers, other, [addr3, alice], [-77n, 77n]);
      const net = 1_000_500n - fees - 2000n;
      await expectAccount(vault, M1, usdcAddress, net, 0n);
    });
  });
});
