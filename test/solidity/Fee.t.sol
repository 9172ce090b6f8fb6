// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";

/**
 * @title Platform fee.
 * @notice For every credit, with `received` what actually arrived in the vault and feeBps <= MAX_FEE_BPS:
 * the merchant is credited received - floor(received * feeBps / 10_000) and fees accrue the rest.
 * A fee above MAX_FEE_BPS is refused with VaultFeeTooHigh.
 */
contract FeeTest is VaultTestBase {
    uint64 internal constant M = 11;

    function _expectedFee(uint256 received, uint256 feeBps) internal pure returns (uint256) {
        return (received * feeBps) / 10_000;
    }

    /// @dev Pays `amount` into a deposit address and sweeps it, returning what arrived in the vault.
    function _depositMeasured(uint256 key, address token, uint256 amount) internal returns (uint256 received) {
        uint256 before = _balanceOf(token, address(vault));
        _deposit(M, key, token, amount);
        received = _balanceOf(token, address(vault)) - before;
    }

    function testFuzz_credit_deductsFlooredFee(uint256 amount, uint16 feeBps, uint8 tokenSeed) public {
        feeBps = uint16(bound(feeBps, 0, vault.MAX_FEE_BPS()));
        amount = bound(amount, 1, type(uint96).max);
        address token = _tokens()[tokenSeed % 4];
        if (token == address(usdt)) usdt.setParams(bound(amount, 0, 200), bound(amount >> 8, 0, 1e20)); // USDT's own fee on
        _register(M, makeAddr("signer"), feeBps);
        uint256 received = _depositMeasured(1, token, amount);
        uint256 fee = _expectedFee(received, feeBps);
        (uint256 bal, uint256 fees) = vault.accountOf(M, token);
        assertEq(bal, received - fee, "merchant credit");
        assertEq(fees, fee, "fee accrued");
        assertEq(bal + fees, received, "credit + fee = received");
    }

    /// @notice The Swept event reports the amount received and the fee.
    function testFuzz_credit_emitsSweptWithFee(uint128 amount, uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, 0, vault.MAX_FEE_BPS()));
        amount = uint128(bound(amount, 1, type(uint96).max));
        _register(M, makeAddr("signer"), feeBps);
        address a = vault.predictDepositAddress(M, IPaymentVault.DepositKind.Payment, 1);
        usdc.mint(a, amount);
        uint256[] memory entries = new uint256[](1);
        entries[0] = _salt(M, 1) | vault.DEPLOY_FLAG();
        vm.expectEmit(address(vault));
        emit IPaymentVault.Swept(M, address(usdc), amount, _expectedFee(amount, feeBps));
        vm.prank(operator);
        vault.sweep(address(usdc), entries, new uint256[](0));
    }

    /// @notice A fee change applies to credits from the next sweep on, in every token the merchant already
    /// holds (its per-account fee copy is rewritten) and in new ones; earlier credits are not recomputed.
    function testFuzz_feeChange_appliesToLaterCredits(uint16 fee1, uint16 fee2, uint96 a1, uint96 a2, uint96 a3)
        public
    {
        fee1 = uint16(bound(fee1, 0, vault.MAX_FEE_BPS()));
        fee2 = uint16(bound(fee2, 0, vault.MAX_FEE_BPS()));
        a1 = uint96(bound(a1, 1, type(uint96).max));
        a2 = uint96(bound(a2, 1, type(uint96).max));
        a3 = uint96(bound(a3, 1, type(uint96).max));
        _register(M, makeAddr("signer"), fee1);
        _deposit(M, 1, address(usdc), a1);
        vm.prank(admin);
        vault.setMerchantFee(M, fee2);
        assertEq(vault.merchant(M).feeBps, fee2);
        _deposit(M, 2, address(usdc), a2); // an account that already had a fee copy
        _deposit(M, 3, NATIVE, a3); // an account credited for the first time
        uint256 f1 = _expectedFee(a1, fee1);
        uint256 f2 = _expectedFee(a2, fee2);
        assertEq(_balance(M, address(usdc)), a1 - f1 + a2 - f2);
        assertEq(_fees(M, address(usdc)), f1 + f2);
        assertEq(_balance(M, NATIVE), a3 - _expectedFee(a3, fee2));
        assertEq(_fees(M, NATIVE), _expectedFee(a3, fee2));
    }

    /// @notice Consecutive entries of one merchant are one credit: one floor over their sum.
    function testFuzz_groupedEntries_feeOnTheSum(uint64 a1, uint64 a2, uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, 0, vault.MAX_FEE_BPS()));
        a1 = uint64(bound(a1, 1, type(uint64).max));
        a2 = uint64(bound(a2, 1, type(uint64).max));
        _register(M, makeAddr("signer"), feeBps);
        usdc.mint(vault.predictDepositAddress(M, IPaymentVault.DepositKind.Payment, 1), a1);
        usdc.mint(vault.predictDepositAddress(M, IPaymentVault.DepositKind.Recharge, 2), a2);
        uint256[] memory entries = new uint256[](2);
        entries[0] = _salt(M, 1) | vault.DEPLOY_FLAG();
        entries[1] = vault.depositSalt(M, IPaymentVault.DepositKind.Recharge, 2) | vault.DEPLOY_FLAG();
        vm.prank(operator);
        vault.sweep(address(usdc), entries, new uint256[](0));
        uint256 total = uint256(a1) + a2;
        assertEq(_fees(M, address(usdc)), _expectedFee(total, feeBps));
        assertEq(_balance(M, address(usdc)), total - _expectedFee(total, feeBps));
    }

    /// @notice Claimed fees go to the fee recipient, exactly, and leave the merchant's balance alone.
    function testFuzz_claimFees_paysRecipientExactly(uint128 amount, uint16 feeBps, address caller) public {
        feeBps = uint16(bound(feeBps, 1, vault.MAX_FEE_BPS()));
        amount = uint128(bound(amount, 10_000, type(uint96).max));
        _register(M, makeAddr("signer"), feeBps);
        _deposit(M, 1, address(usdc), amount);
        (uint256 bal, uint256 fees) = vault.accountOf(M, address(usdc));
        uint64[] memory ids = new uint64[](2);
        ids[0] = M;
        ids[1] = M; // listed twice, paid once
        vm.prank(caller);
        vault.claimFees(address(usdc), ids);
        assertEq(usdc.balanceOf(feeRecipient), fees);
        assertEq(_balance(M, address(usdc)), bal);
        assertEq(_fees(M, address(usdc)), 0);
        vm.expectRevert(IPaymentVault.VaultZeroAmount.selector);
        vault.claimFees(address(usdc), ids);
    }

    function testFuzz_registerMerchant_reverts_whenFeeTooHigh(uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, uint256(vault.MAX_FEE_BPS()) + 1, type(uint16).max));
        uint16 maxFee = vault.MAX_FEE_BPS();
        address signer = makeAddr("signer");
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultFeeTooHigh.selector, feeBps, maxFee));
        vault.registerMerchant(M, signer, feeBps);
        assertEq(vault.merchant(M).signer, address(0));
    }

    function testFuzz_setMerchantFee_reverts_whenFeeTooHigh(uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, uint256(vault.MAX_FEE_BPS()) + 1, type(uint16).max));
        _register(M, makeAddr("signer"), 100);
        uint16 maxFee = vault.MAX_FEE_BPS();
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultFeeTooHigh.selector, feeBps, maxFee));
        vault.setMerchantFee(M, feeBps);
        assertEq(vault.merchant(M).feeBps, 100);
    }
}
