// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";
import {ReentrantToken} from "../../contracts/mocks/ReentrantToken.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";

/**
 * @title Reentrancy.
 * @notice A token that calls back into the vault during its transfer (ReentrantToken) is moved by each of
 * the four outer operations (payout, sweep, claimFees, rescueDepositToken); during that transfer it attempts
 * each of five inner operations that would succeed on their own (a signed payout, payoutByMerchant, sweep,
 * claimFees, rescueDepositToken). Every attempt is refused by the reentrancy guard, its effects are absent,
 * and the outer operation completes exactly.
 *
 * To make the inner calls valid apart from the reentrancy, the token is given every power an attacker could
 * wish for: it holds OPERATOR_ROLE and is the signer of merchant M2.
 */
contract ReentrancyTest is VaultTestBase {
    uint64 internal constant M1 = 1; // EOA signer
    uint64 internal constant M2 = 2; // signer = the reentrant token
    ReentrantToken internal rt;
    MockERC20 internal stray; // not allowlisted: rescued, never swept
    uint256 internal pk1;
    address internal signer1;
    address internal recipient = makeAddr("recipient");

    function setUp() public override {
        super.setUp();
        rt = new ReentrantToken();
        stray = new MockERC20("Stray", "STRAY", 18);
        (signer1, pk1) = makeAddrAndKey("signer1");
        vm.startPrank(admin);
        vault.setTokenAllowed(address(rt), true);
        vault.grantRole(vault.OPERATOR_ROLE(), address(rt));
        vm.stopPrank();
        _register(M1, signer1, 300);
        _register(M2, address(rt), 300);
        // Balances and fees in rt and usdc for both merchants (rt is not armed yet: no callback).
        _deposit(M1, 1, address(rt), 1_000e18);
        _deposit(M2, 1, address(rt), 1_000e18);
        _deposit(M1, 2, address(usdc), 1_000e6);
        _deposit(M2, 2, address(usdc), 1_000e6);
        // Funds waiting in deposit addresses: usdc (for an inner sweep), stray (for an inner rescue).
        usdc.mint(vault.predictDepositAddress(M1, IPaymentVault.DepositKind.Payment, 3), 500e6);
        stray.mint(vault.predictDepositAddress(M2, IPaymentVault.DepositKind.Payment, 4), 7e18);
        // Rescues need deployed addresses (only the operator deploys).
        uint256[] memory salts = new uint256[](2);
        salts[0] = _salt(M2, 4);
        salts[1] = _salt(M2, 6);
        vm.prank(operator);
        vault.deployDepositAddresses(salts);
    }

    // ------------------------------------------------------------ inner operations (the attack)

    function _innerCall(uint256 which) internal view returns (bytes memory) {
        which %= 5;
        if (which == 0) {
            IPaymentVault.Payout memory p = _payout(M1, address(usdc), address(rt), 100e6, 100);
            return abi.encodeCall(vault.payout, (p, _sign(pk1, p)));
        }
        if (which == 1) return abi.encodeCall(vault.payoutByMerchant, (_payout(M2, address(usdc), address(rt), 100e6, 100)));
        if (which == 2) {
            uint256[] memory entries = new uint256[](1);
            entries[0] = _salt(M1, 3) | vault.DEPLOY_FLAG();
            return abi.encodeCall(vault.sweep, (address(usdc), entries, new uint256[](0)));
        }
        if (which == 3) {
            uint64[] memory ids = new uint64[](2);
            ids[0] = M1;
            ids[1] = M2;
            return abi.encodeCall(vault.claimFees, (address(usdc), ids));
        }
        return abi.encodeCall(vault.rescueDepositToken, (_salt(M2, 4), address(stray), address(rt), 7e18));
    }

    struct Inner {
        uint256[2] usdcBalance;
        uint256[2] usdcFees;
        uint256 vaultUsdc;
        uint256 strayAtDeposit;
    }

    function _inner() internal view returns (Inner memory s) {
        (s.usdcBalance[0], s.usdcFees[0]) = vault.accountOf(M1, address(usdc));
        (s.usdcBalance[1], s.usdcFees[1]) = vault.accountOf(M2, address(usdc));
        s.vaultUsdc = usdc.balanceOf(address(vault));
        s.strayAtDeposit = stray.balanceOf(vault.predictDepositAddress(M2, IPaymentVault.DepositKind.Payment, 4));
    }

    /// @dev The inner operation really is valid on its own (so its refusal is the guard's doing).
    function test_innerOperations_succeedWhenNotReentrant() public {
        for (uint256 which; which < 5; ++which) {
            uint256 snap = vm.snapshotState();
            bytes memory data = _innerCall(which);
            vm.prank(address(rt));
            (bool ok,) = address(vault).call(data);
            assertTrue(ok, "inner operation must be valid outside reentrancy");
            vm.revertToState(snap);
        }
    }

    // ------------------------------------------------------------ outer operations

    function testFuzz_reentrancy_neverSucceeds(uint8 outer, uint8 inner, uint96 amount) public {
        outer %= 4;
        bytes memory innerCall = _innerCall(inner);
        Inner memory beforeInner = _inner();
        (uint256 m1Rt, uint256 m1RtFees) = vault.accountOf(M1, address(rt));
        uint256 vaultRt = rt.balanceOf(address(vault));
        amount = uint96(bound(amount, 1, m1Rt));

        if (outer == 0) {
            // payout of rt: vault -> recipient
            IPaymentVault.Payout memory p = _payout(M1, address(rt), recipient, amount, 1);
            bytes memory sig = _sign(pk1, p);
            rt.arm(address(vault), innerCall);
            vault.payout(p, sig);
            assertEq(rt.balanceOf(recipient), amount);
            assertEq(_balance(M1, address(rt)), m1Rt - amount);
            assertEq(rt.balanceOf(address(vault)), vaultRt - amount);
        } else if (outer == 1) {
            // sweep of rt: deposit address -> vault
            address a = vault.predictDepositAddress(M1, IPaymentVault.DepositKind.Payment, 5);
            rt.mint(a, amount);
            uint256[] memory entries = new uint256[](1);
            entries[0] = _salt(M1, 5) | vault.DEPLOY_FLAG();
            rt.arm(address(vault), innerCall);
            vm.prank(operator);
            vault.sweep(address(rt), entries, new uint256[](0));
            uint256 fee = (uint256(amount) * 300) / 10_000;
            assertEq(_balance(M1, address(rt)), m1Rt + amount - fee);
            assertEq(_fees(M1, address(rt)), m1RtFees + fee);
            assertEq(rt.balanceOf(address(vault)), vaultRt + amount);
        } else if (outer == 2) {
            // claimFees of rt: vault -> fee recipient
            uint64[] memory ids = new uint64[](1);
            ids[0] = M1;
            rt.arm(address(vault), innerCall);
            vault.claimFees(address(rt), ids);
            assertEq(rt.balanceOf(feeRecipient), m1RtFees);
            assertEq(_fees(M1, address(rt)), 0);
            assertEq(_balance(M1, address(rt)), m1Rt);
        } else {
            // rescue of rt (taken off the allowlist): M2's deposit address -> recipient
            vm.prank(admin);
            vault.setTokenAllowed(address(rt), false);
            address a = vault.predictDepositAddress(M2, IPaymentVault.DepositKind.Payment, 6);
            rt.mint(a, amount);
            uint256 salt = _salt(M2, 6);
            rt.arm(address(vault), innerCall);
            vm.prank(address(rt)); // M2's signer
            vault.rescueDepositToken(salt, address(rt), recipient, amount);
            assertEq(rt.balanceOf(recipient), amount);
            assertEq(rt.balanceOf(a), 0);
            assertEq(_balance(M1, address(rt)), m1Rt);
        }

        assertTrue(rt.attempted(), "the token did call back");
        assertFalse(rt.reentered(), "the reentrant call succeeded");
        assertEq(
            bytes4(rt.lastRevert()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector, "refused by the guard"
        );
        // None of the inner operation's effects.
        Inner memory afterInner = _inner();
        for (uint256 i; i < 2; ++i) {
            assertEq(afterInner.usdcBalance[i], beforeInner.usdcBalance[i], "inner moved a usdc balance");
            assertEq(afterInner.usdcFees[i], beforeInner.usdcFees[i], "inner moved usdc fees");
        }
        assertEq(afterInner.vaultUsdc, beforeInner.vaultUsdc, "inner moved the vault's usdc");
        assertEq(afterInner.strayAtDeposit, beforeInner.strayAtDeposit, "inner rescued");
        assertFalse(vault.isPayoutIdUsed(M1, 100));
        assertFalse(vault.isPayoutIdUsed(M2, 100));
        // Solvency still holds in every token touched.
        (uint256 b1, uint256 f1) = vault.accountOf(M1, address(rt));
        (uint256 b2, uint256 f2) = vault.accountOf(M2, address(rt));
        assertGe(rt.balanceOf(address(vault)), b1 + f1 + b2 + f2);
    }
}
