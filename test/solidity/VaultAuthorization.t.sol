// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";
import {ERC1271Wallet} from "../../contracts/mocks/TestWallets.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";

/**
 * @title Authorization: only the merchant's signer moves the merchant's balance.
 * @notice Payouts signed by any other key, payoutByMerchant / setMerchantSigner / cancelPayout / rescue from any
 * other caller revert and move nothing; holders of every admin role cannot move a merchant's balance through
 * any admin function.
 */
contract VaultAuthorizationTest is VaultTestBase {
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint64 internal constant M = 42;
    uint256 internal signerPk;
    address internal signer;
    address internal recipient = makeAddr("recipient");

    function setUp() public override {
        super.setUp();
        (signer, signerPk) = makeAddrAndKey("merchantSigner");
        _register(M, signer, 250);
        _deposit(M, 1, address(usdc), 1_000_000e6);
        _deposit(M, 2, address(fot), 1_000_000e18);
        _deposit(M, 3, address(usdt), 1_000_000e6);
        _deposit(M, 4, NATIVE, 100 ether);
    }

    struct State {
        uint256[4] merchantBalance;
        uint256[4] merchantFees;
        uint256[4] vaultHolds;
        uint256[4] recipientHolds;
        IPaymentVault.Merchant m;
    }

    function _state() internal view returns (State memory s) {
        address[4] memory t = _tokens();
        for (uint256 i; i < 4; ++i) {
            (s.merchantBalance[i], s.merchantFees[i]) = vault.accountOf(M, t[i]);
            s.vaultHolds[i] = _balanceOf(t[i], address(vault));
            s.recipientHolds[i] = _balanceOf(t[i], recipient);
        }
        s.m = vault.merchant(M);
    }

    function _assertBalancesUnchanged(State memory a, State memory b) internal pure {
        for (uint256 i; i < 4; ++i) {
            assertEq(a.merchantBalance[i], b.merchantBalance[i], "merchant balance moved");
            assertEq(a.vaultHolds[i], b.vaultHolds[i], "vault holdings moved");
            assertEq(a.recipientHolds[i], b.recipientHolds[i], "recipient received");
        }
    }

    function _assertNothingMoved(State memory a, State memory b) internal pure {
        _assertBalancesUnchanged(a, b);
        for (uint256 i; i < 4; ++i) {
            assertEq(a.merchantFees[i], b.merchantFees[i], "fees moved");
        }
        assertEq(a.m.signer, b.m.signer, "signer changed");
        assertEq(a.m.payoutRange, b.m.payoutRange, "payout range moved");
        assertEq(a.m.payoutBits, b.m.payoutBits, "payout bits changed");
    }

    function _pickToken(uint256 seed) internal view returns (address) {
        return _tokens()[seed % 4];
    }

    // ------------------------------------------------------------ payout signatures

    function testFuzz_payout_reverts_whenSignedByAnyOtherKey(
        uint256 otherPk,
        uint256 tokenSeed,
        uint256 amount,
        uint256 payoutId,
        address relayer
    ) public {
        otherPk = bound(otherPk, 1, N - 1);
        vm.assume(otherPk != signerPk);
        address token = _pickToken(tokenSeed);
        amount = bound(amount, 1, _balance(M, token)); // a payout that would succeed if signed by the merchant
        payoutId = bound(payoutId, 0, 1_000);
        IPaymentVault.Payout memory p = _payout(M, token, recipient, amount, payoutId);
        bytes memory sig = _sign(otherPk, p);
        State memory before = _state();

        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, M));
        vault.payout(p, sig);

        _assertNothingMoved(before, _state());
        assertFalse(vault.isPayoutIdUsed(M, payoutId));
    }

    /// @notice Any byte string that is not the signer's signature (wrong length, random words, the
    /// signature of another payout) is refused.
    function testFuzz_payout_reverts_whenSignatureIsNotTheSigners(bytes calldata junk, uint256 amount) public {
        amount = bound(amount, 1, _balance(M, address(usdc)));
        IPaymentVault.Payout memory p = _payout(M, address(usdc), recipient, amount, 7);
        State memory before = _state();
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, M));
        vault.payout(p, junk);
        _assertNothingMoved(before, _state());
    }

    /// @notice A valid signature of one payout does not authorise a payout differing in any field.
    function testFuzz_payout_reverts_whenAnySignedFieldIsChanged(uint256 field, uint256 delta, address otherTo)
        public
    {
        IPaymentVault.Payout memory signed = _payout(M, address(usdc), recipient, 1_000e6, 5);
        bytes memory sig = _sign(signerPk, signed);
        IPaymentVault.Payout memory p = signed;
        delta = bound(delta, 1, 1_000);
        field = field % 6;
        if (field == 0) p.amount += delta;
        else if (field == 1) p.payoutId += delta;
        else if (field == 2) p.deadline += uint64(delta);
        else if (field == 3) p.kind = IPaymentVault.PayoutKind.Refund;
        else if (field == 4) p.token = address(usdt);
        else {
            vm.assume(otherTo != recipient && otherTo != address(0));
            p.to = otherTo;
        }
        State memory before = _state();
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, M));
        vault.payout(p, sig);
        _assertNothingMoved(before, _state());
    }

    /// @notice A signature from the merchant's signer is not valid for another merchant (the id is signed).
    function testFuzz_payout_reverts_whenSignatureIsForAnotherMerchant(uint64 otherId) public {
        vm.assume(otherId != 0 && otherId != M);
        (address otherSigner,) = makeAddrAndKey("otherSigner");
        _register(otherId, otherSigner, 0);
        _deposit(otherId, 1, address(usdc), 500e6);
        IPaymentVault.Payout memory p = _payout(otherId, address(usdc), recipient, 100e6, 1);
        bytes memory sig = _sign(signerPk, p); // M's signer signs a payout from otherId's balance
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, otherId));
        vault.payout(p, sig);
        assertEq(_balance(otherId, address(usdc)), 500e6);
    }

    /// @notice After the signer rotates, the old key's signatures are refused and the new key's accepted.
    function testFuzz_payout_oldSignerRefused_afterRotation(uint256 newPk) public {
        newPk = bound(newPk, 1, N - 1);
        vm.assume(newPk != signerPk);
        vm.prank(signer);
        vault.setMerchantSigner(M, vm.addr(newPk));
        IPaymentVault.Payout memory p = _payout(M, address(usdc), recipient, 1e6, 1);
        bytes memory oldSig = _sign(signerPk, p);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, M));
        vault.payout(p, oldSig);
        vault.payout(p, _sign(newPk, p));
        assertEq(usdc.balanceOf(recipient), 1e6);
    }

    /// @notice A merchant whose signer is an ERC-1271 wallet: only its owner's key authorises.
    function testFuzz_payout_erc1271Signer_refusesOtherKeys(uint256 otherPk) public {
        (address owner, uint256 ownerPk) = makeAddrAndKey("walletOwner");
        otherPk = bound(otherPk, 1, N - 1);
        vm.assume(otherPk != ownerPk);
        ERC1271Wallet wallet = new ERC1271Wallet(owner);
        _register(77, address(wallet), 0);
        _deposit(77, 1, address(usdc), 10e6);
        IPaymentVault.Payout memory p = _payout(77, address(usdc), recipient, 10e6, 1);
        bytes memory badSig = _sign(otherPk, p);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, uint64(77)));
        vault.payout(p, badSig);
        assertEq(_balance(77, address(usdc)), 10e6);
        vault.payout(p, _sign(ownerPk, p));
        assertEq(_balance(77, address(usdc)), 0);
    }

    // ------------------------------------------------------------ signer-only calls

    function testFuzz_payoutByMerchant_reverts_whenCallerNotSigner(address caller, uint256 tokenSeed, uint256 amount)
        public
    {
        vm.assume(caller != signer);
        address token = _pickToken(tokenSeed);
        amount = bound(amount, 1, _balance(M, token));
        IPaymentVault.Payout memory p = _payout(M, token, recipient, amount, 1);
        State memory before = _state();
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, caller));
        vault.payoutByMerchant(p);
        _assertNothingMoved(before, _state());
    }

    function testFuzz_setMerchantSigner_reverts_whenCallerNotSigner(address caller, address newSigner) public {
        vm.assume(caller != signer && newSigner != address(0));
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, caller));
        vault.setMerchantSigner(M, newSigner);
        assertEq(vault.merchant(M).signer, signer);
    }

    function testFuzz_cancelPayout_reverts_whenCallerNotSigner(address caller, uint256 payoutId) public {
        vm.assume(caller != signer);
        payoutId = bound(payoutId, 0, 1_000);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, caller));
        vault.cancelPayout(M, payoutId);
        assertFalse(vault.isPayoutIdUsed(M, payoutId));
    }

    function testFuzz_rescueDepositToken_reverts_whenCallerNotSigner(address caller, uint256 amount) public {
        vm.assume(caller != signer);
        MockERC20 stray = new MockERC20("Stray", "STRAY", 18);
        uint256 salt = _salt(M, 9);
        address depositAddress = vault.predictDepositAddress(M, IPaymentVault.DepositKind.Payment, 9);
        stray.mint(depositAddress, 1e18);
        amount = bound(amount, 1, 1e18);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, caller));
        vault.rescueDepositToken(salt, address(stray), caller, amount);
        assertEq(stray.balanceOf(depositAddress), 1e18);
    }

    /// @notice Even the merchant's signer cannot rescue an allowlisted token (it is swept and credited instead).
    function test_rescueDepositToken_reverts_forAllowlistedToken() public {
        uint256 salt = _salt(M, 9);
        usdc.mint(vault.predictDepositAddress(M, IPaymentVault.DepositKind.Payment, 9), 1e6);
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultTokenIsAllowed.selector, address(usdc)));
        vault.rescueDepositToken(salt, address(usdc), signer, 1e6);
    }

    // ------------------------------------------------------------ roles

    function testFuzz_reverts_whenNotOperator(address caller) public {
        vm.assume(caller != operator);
        uint256[] memory entries = new uint256[](1);
        entries[0] = _salt(M, 1);
        bytes32 role = vault.OPERATOR_ROLE();
        vm.startPrank(caller);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        vault.sweep(address(usdc), entries, new uint256[](0));
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        vault.deployDepositAddresses(entries);
        vm.stopPrank();
    }

    function testFuzz_reverts_whenNotMerchantAdmin(address caller) public {
        vm.assume(caller != admin);
        bytes32 role = vault.MERCHANT_ADMIN_ROLE();
        vm.startPrank(caller);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        vault.registerMerchant(99, caller, 0);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        vault.setMerchantFee(M, 0);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, role));
        vault.setTokenAllowed(address(usdc), false);
        vm.stopPrank();
    }

    function testFuzz_reverts_whenNotAdminOrPauser(address caller) public {
        vm.assume(caller != admin);
        vm.startPrank(caller);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, bytes32(0))
        );
        vault.setFeeRecipient(caller);
        bytes32 pauser = vault.PAUSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, pauser));
        vault.pause();
        vm.stopPrank();
    }

    /// @notice One account holding every role (admin, merchant admin, pauser, operator) calls every admin
    /// function, and tries every merchant-only one; the merchant's balance never moves, and its fees go only
    /// to the fee recipient.
    function testFuzz_allRolesTogether_cannotMoveMerchantBalance(uint16 newFee, address attackerTo) public {
        vm.assume(attackerTo != address(0) && attackerTo != recipient && attackerTo != address(vault));
        newFee = uint16(bound(newFee, 0, vault.MAX_FEE_BPS()));
        address boss = makeAddr("boss");
        vm.startPrank(admin);
        vault.grantRole(vault.OPERATOR_ROLE(), boss);
        vault.grantRole(vault.MERCHANT_ADMIN_ROLE(), boss);
        vault.grantRole(vault.PAUSER_ROLE(), boss);
        vault.grantRole(vault.DEFAULT_ADMIN_ROLE(), boss);
        vm.stopPrank();
        State memory before = _state();

        vm.startPrank(boss);
        // Every admin function.
        vault.setFeeRecipient(attackerTo);
        vault.setMerchantFee(M, newFee);
        vault.registerMerchant(1000, boss, newFee);
        vault.setTokenAllowed(address(usdc), false);
        vault.setTokenAllowed(address(usdc), true);
        vault.pause();
        vault.unpause();
        uint256[] memory salts = new uint256[](2);
        salts[0] = _salt(M, 1); // already deployed: passed over
        salts[1] = _salt(M, 50); // new
        vault.deployDepositAddresses(salts);
        uint256[] memory entries = new uint256[](1);
        entries[0] = _salt(M, 1);
        vault.sweep(address(usdc), entries, new uint256[](0)); // nothing there: credits nothing
        uint64[] memory ids = new uint64[](1);
        ids[0] = M;
        vault.claimFees(address(usdc), ids); // fees go to the fee recipient, never the balance

        // Every merchant-only function.
        IPaymentVault.Payout memory p = _payout(M, address(usdc), attackerTo, 1e6, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, boss));
        vault.payoutByMerchant(p);
        vm.stopPrank();
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(uint256(keccak256("boss")), vault.hashPayout(p));
        vm.startPrank(boss);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidSignature.selector, M));
        vault.payout(p, abi.encodePacked(r, s, v));
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, boss));
        vault.setMerchantSigner(M, boss);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, boss));
        vault.cancelPayout(M, 1);
        uint256 salt1 = entries[0];
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultNotMerchantSigner.selector, M, boss));
        vault.rescueDepositToken(salt1, address(0xdead), attackerTo, 1);
        vm.stopPrank();

        State memory afterS = _state();
        _assertBalancesUnchanged2(before, afterS);
        assertEq(afterS.m.signer, signer, "signer changed");
        assertEq(afterS.merchantFees[0], 0, "usdc fees not claimed");
        assertEq(usdc.balanceOf(attackerTo), before.merchantFees[0], "fee recipient got other than the fees");
    }

    /// @dev Merchant balances and other tokens unchanged; the vault's USDC fell by exactly the claimed fees.
    function _assertBalancesUnchanged2(State memory a, State memory b) internal pure {
        for (uint256 i; i < 4; ++i) {
            assertEq(a.merchantBalance[i], b.merchantBalance[i], "merchant balance moved");
            assertEq(a.recipientHolds[i], b.recipientHolds[i], "recipient received");
            if (i != 0) assertEq(a.vaultHolds[i], b.vaultHolds[i], "vault holdings moved");
        }
        assertEq(a.vaultHolds[0] - b.vaultHolds[0], a.merchantFees[0], "vault USDC moved by more than fees");
    }

    /// @notice Pausing stops payouts even by the signer; it does not move the balance either.
    function test_pause_blocksPayouts() public {
        vm.prank(admin);
        vault.pause();
        IPaymentVault.Payout memory p = _payout(M, address(usdc), recipient, 1e6, 1);
        bytes memory sig = _sign(signerPk, p);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vault.payout(p, sig);
        vm.prank(signer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vault.payoutByMerchant(p);
    }

    /// @notice The native coin sent straight to the vault (outside a native sweep) is refused, from anyone,
    /// including during a payout of native coin to a contract that tries to send it back.
    function testFuzz_directNativeDeposit_reverts(address sender, uint96 amount) public {
        vm.assume(sender != address(vault));
        amount = uint96(bound(amount, 1, type(uint96).max));
        vm.deal(sender, amount);
        uint256 before = address(vault).balance;
        vm.prank(sender);
        (bool ok, bytes memory ret) = address(vault).call{value: amount}("");
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IPaymentVault.VaultDirectNativeDeposit.selector, sender));
        assertEq(address(vault).balance, before);
    }

    /// @notice A payout or rescue aimed at the vault itself is refused (it would strand the funds unattributed).
    function testFuzz_payout_reverts_whenRecipientIsVault(uint256 tokenSeed, uint256 amount) public {
        address token = _pickToken(tokenSeed);
        amount = bound(amount, 1, _balance(M, token));
        IPaymentVault.Payout memory p = _payout(M, token, address(vault), amount, 1);
        bytes memory sig = _sign(signerPk, p);
        State memory before = _state();
        vm.expectRevert(IPaymentVault.VaultRecipientIsVault.selector);
        vault.payout(p, sig);
        vm.prank(signer);
        vm.expectRevert(IPaymentVault.VaultRecipientIsVault.selector);
        vault.payoutByMerchant(p);
        uint256 salt = _salt(M, 9);
        vm.prank(signer);
        vm.expectRevert(IPaymentVault.VaultRecipientIsVault.selector);
        vault.rescueDepositToken(salt, address(0xdead), address(vault), 1);
        _assertNothingMoved(before, _state());
    }
}
