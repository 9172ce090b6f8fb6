// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {PaymentVault} from "../../../contracts/PaymentVault.sol";
import {IPaymentVault} from "../../../contracts/interfaces/IPaymentVault.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {MockFeeOnTransferToken} from "../../../contracts/mocks/MockFeeOnTransferToken.sol";
import {MockTetherToken} from "../../../contracts/mocks/MockTetherToken.sol";

/// @notice Shared fixture: a vault, its roles, the three mock tokens and the native coin allowlisted,
/// and helpers to fund deposit addresses, sweep them and sign payouts with vm.sign.
abstract contract VaultTestBase is Test {
    address internal constant NATIVE = address(0);

    PaymentVault internal vault;
    address internal admin = makeAddr("admin");
    address internal operator = makeAddr("operator");
    address internal feeRecipient = makeAddr("feeRecipient");
    address internal payer = makeAddr("payer");

    MockERC20 internal usdc;
    MockFeeOnTransferToken internal fot;
    MockTetherToken internal usdt;

    function setUp() public virtual {
        vault = new PaymentVault(admin, operator, feeRecipient);
        usdc = new MockERC20("USD Coin", "USDC", 6);
        fot = new MockFeeOnTransferToken(100); // 1% burnt on every transfer
        usdt = new MockTetherToken(); // owner = this test contract
        vm.startPrank(admin);
        vault.setTokenAllowed(address(usdc), true);
        vault.setTokenAllowed(address(fot), true);
        vault.setTokenAllowed(address(usdt), true);
        vault.setTokenAllowed(NATIVE, true);
        // Tokens that take a fee on transfer are credited by measured balance change (USDT's fee can be turned on).
        vault.setTokenMeasured(address(fot), true);
        vault.setTokenMeasured(address(usdt), true);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ helpers

    function _tokens() internal view returns (address[4] memory t) {
        t = [address(usdc), address(fot), address(usdt), NATIVE];
    }

    function _register(uint64 merchantId, address signer, uint16 feeBps) internal {
        vm.prank(admin);
        vault.registerMerchant(merchantId, signer, feeBps);
    }

    function _salt(uint64 merchantId, uint256 key) internal view returns (uint256) {
        return vault.depositSalt(merchantId, IPaymentVault.DepositKind.Payment, key);
    }

    /// @dev Pays `amount` of `token` to `to` the way a payer would (a mint for the mock tokens).
    function _pay(address token, address to, uint256 amount) internal {
        if (token == NATIVE) {
            vm.deal(payer, amount);
            vm.prank(payer);
            (bool ok,) = to.call{value: amount}("");
            require(ok, "native payment failed");
        } else if (token == address(usdt)) {
            usdt.mint(to, amount);
        } else {
            MockERC20(token).mint(to, amount); // MockFeeOnTransferToken has the same mint(address,uint256)
        }
    }

    function _balanceOf(address token, address who) internal view returns (uint256) {
        if (token == NATIVE) return who.balance;
        return MockERC20(token).balanceOf(who);
    }

    /// @dev Sweeps one salt, setting DEPLOY_FLAG exactly when its address has no code yet.
    function _sweepSalt(address token, uint256 salt) internal {
        uint256[] memory entries = new uint256[](1);
        address a = vault.predictDepositAddress(uint64(salt >> 192), IPaymentVault.DepositKind(uint8(salt >> 184)), uint184(salt));
        entries[0] = a.code.length == 0 ? salt | vault.DEPLOY_FLAG() : salt;
        vm.prank(operator);
        vault.sweep(token, entries, new uint256[](0));
    }

    /// @dev Pays `amount` into a fresh deposit address of `merchantId` and sweeps it.
    function _deposit(uint64 merchantId, uint256 key, address token, uint256 amount) internal {
        uint256 salt = _salt(merchantId, key);
        _pay(token, vault.predictDepositAddress(merchantId, IPaymentVault.DepositKind.Payment, key), amount);
        _sweepSalt(token, salt);
    }

    function _sign(uint256 pk, IPaymentVault.Payout memory p) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, vault.hashPayout(p));
        return abi.encodePacked(r, s, v);
    }

    function _signBatch(uint256 pk, IPaymentVault.PayoutBatch memory b) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, vault.hashPayoutBatch(b));
        return abi.encodePacked(r, s, v);
    }

    function _payout(uint64 merchantId, address token, address to, uint256 amount, uint256 payoutId)
        internal
        view
        returns (IPaymentVault.Payout memory)
    {
        return IPaymentVault.Payout({
            merchantId: merchantId,
            kind: IPaymentVault.PayoutKind.Withdrawal,
            token: token,
            to: to,
            amount: amount,
            payoutId: payoutId,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    function _balance(uint64 merchantId, address token) internal view returns (uint256 b) {
        (b,) = vault.accountOf(merchantId, token);
    }

    function _fees(uint64 merchantId, address token) internal view returns (uint256 f) {
        (, f) = vault.accountOf(merchantId, token);
    }
}
