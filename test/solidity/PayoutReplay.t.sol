// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";

/**
 * @title Payout replay protection: the merchant slot's 64-id range and the bitmap beside it.
 * @notice Fuzzed sequences of payout ids (paid by signature, by the signer, in a batch, or cancelled) that
 * move the slot's range up, come back below it, and use ids far beyond the slot's reach: an id never pays
 * twice, an unpaid id is never made unpayable, and isPayoutIdUsed agrees at every step with a naive model
 * written here (the set of ids paid or cancelled).
 */
contract PayoutReplayTest is VaultTestBase {
    uint64 internal constant M = 9;
    uint256 internal signerPk;
    address internal signer;
    address internal to = makeAddr("to");

    // the model: every id paid or cancelled
    mapping(uint256 => bool) internal _used;
    uint256 internal _highest;

    function setUp() public override {
        super.setUp();
        (signer, signerPk) = makeAddrAndKey("replaySigner");
        _register(M, signer, 0);
        _deposit(M, 1, address(usdc), 1e30);
    }

    /// @dev Derives the step's payout id: the gateway's 1, 2, 3, ..., ids around the slot's range edges,
    /// jumps ahead (which move the range) and back, ids the slot cannot hold (range > 2**16 - 1), any id.
    function _stepId(uint256 r) internal view returns (uint256) {
        uint256 mode = r % 8;
        uint256 x = r >> 8;
        if (mode < 3) return x % 200;
        if (mode < 5) {
            uint256 lo = _highest > 80 ? _highest - 80 : 0;
            return lo + x % 160;
        }
        if (mode == 5) return _highest + x % 1_000;
        if (mode == 6) return (1 << 22) - 64 + x % 128; // across the slot's last range
        return x;
    }

    function _assertModelAround(uint256 id) internal view {
        uint256 lo = id > 3 ? id - 3 : 0;
        uint256 hi = id > type(uint256).max - 3 ? type(uint256).max : id + 3;
        for (uint256 j = lo;; ++j) {
            assertEq(vault.isPayoutIdUsed(M, j), _used[j], "isPayoutIdUsed != model");
            if (j == hi) break;
        }
    }

    function testFuzz_payoutIdSequence_neverPaysTwice_neverStrands_matchesModel(uint256 seed, uint256 length) public {
        length = bound(length, 1, 48);
        uint256[] memory ids = new uint256[](length);
        for (uint256 i; i < length; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 id = _stepId(r);
            ids[i] = id;
            uint256 action = (r >> 200) % 5; // 0: payoutByMerchant, 1: signed payout, 2: batch, 3: cancel, 4: relay
            uint256 paidBefore = usdc.balanceOf(to);
            bool used = _used[id];
            _act(action, id, used);
            if (!used) _used[id] = true;
            if (id > _highest && id < 1 << 64) _highest = id;
            uint256 expectedPaid = !used && action != 3 ? 1 : 0;
            assertEq(usdc.balanceOf(to) - paidBefore, expectedPaid, "paid amount");
            assertTrue(vault.isPayoutIdUsed(M, id), "an id is used after its payout or cancellation");
            _assertModelAround(id);
        }
        // After the sequence: every id used is refused again; a fresh id below each still pays.
        for (uint256 i; i < length; ++i) {
            uint256 id = ids[i];
            vm.prank(signer);
            vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id));
            vault.payoutByMerchant(_payout(M, address(usdc), to, 1, id));
            if (id > 0 && !_used[id - 1]) {
                vm.prank(signer);
                vault.payoutByMerchant(_payout(M, address(usdc), to, 1, id - 1));
                _used[id - 1] = true;
            }
        }
    }

    function _act(uint256 action, uint256 id, bool used) internal {
        IPaymentVault.Payout memory p = _payout(M, address(usdc), to, 1, id);
        if (action == 2) {
            IPaymentVault.PayoutBatch memory b = _batchOf(p);
            bytes memory batchSig = _signBatch(signerPk, b);
            if (used) {
                vm.expectEmit(address(vault));
                emit IPaymentVault.PayoutSkipped(
                    M, id, abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id)
                );
            }
            vault.payoutBatch(b, batchSig);
            return;
        }
        if (action == 4) {
            IPaymentVault.SignedPayout[] memory singles = new IPaymentVault.SignedPayout[](1);
            singles[0] = IPaymentVault.SignedPayout(p, _sign(signerPk, p)); // signed before any expectEmit
            if (used) {
                vm.expectEmit(address(vault));
                emit IPaymentVault.PayoutSkipped(
                    M, id, abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id)
                );
            }
            vault.relayPayouts(singles, new IPaymentVault.SignedPayoutBatch[](0));
            return;
        }
        bytes memory sig = action == 1 ? _sign(signerPk, p) : bytes("");
        if (used) vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id));
        if (action == 1) {
            vault.payout(p, sig);
        } else {
            vm.prank(signer);
            if (action == 3) vault.cancelPayout(M, id);
            else vault.payoutByMerchant(p);
        }
    }

    /// @notice The same signed payout relayed twice pays once, whoever relays it.
    function testFuzz_signedPayout_replayReverts(uint256 id, uint128 amount, address relayer1, address relayer2)
        public
    {
        amount = uint128(bound(amount, 1, 1e29));
        IPaymentVault.Payout memory p = _payout(M, address(usdc), to, amount, id);
        bytes memory sig = _sign(signerPk, p);
        vm.prank(relayer1);
        vault.payout(p, sig);
        vm.prank(relayer2);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id));
        vault.payout(p, sig);
        assertEq(usdc.balanceOf(to), amount);
        assertEq(_balance(M, address(usdc)), 1e30 - amount);
    }

    /// @notice The attack of issue 11: paying a far higher id first (which moves the slot's range) leaves
    /// every lower unpaid id payable; before, ids 40 or more below it were spent unpaid, with no event.
    function testFuzz_higherIdFirst_strandsNothing(uint256 low, uint256 gap) public {
        low = bound(low, 0, 1 << 30);
        gap = bound(gap, 1, 1 << 40);
        vm.prank(signer);
        vault.payoutByMerchant(_payout(M, address(usdc), to, 1, low + gap));
        assertFalse(vault.isPayoutIdUsed(M, low));
        IPaymentVault.Payout memory p = _payout(M, address(usdc), to, 1, low);
        vault.payout(p, _sign(signerPk, p));
        assertTrue(vault.isPayoutIdUsed(M, low));
        assertEq(usdc.balanceOf(to), 2);
    }

    /// @notice Payout ids are per merchant: another merchant's use of an id does not spend this one's.
    function testFuzz_payoutIds_arePerMerchant(uint256 id, uint64 other) public {
        vm.assume(other != 0 && other != M);
        _register(other, signer, 0);
        _deposit(other, 1, address(usdc), 10);
        vm.startPrank(signer);
        vault.payoutByMerchant(_payout(other, address(usdc), to, 1, id));
        assertFalse(vault.isPayoutIdUsed(M, id));
        vault.payoutByMerchant(_payout(M, address(usdc), to, 1, id));
        vm.stopPrank();
        assertTrue(vault.isPayoutIdUsed(M, id));
    }

    function _batchOf(IPaymentVault.Payout memory p) internal pure returns (IPaymentVault.PayoutBatch memory b) {
        b.merchantId = p.merchantId;
        b.deadline = p.deadline;
        b.payouts = new IPaymentVault.PayoutItem[](1);
        b.payouts[0] = IPaymentVault.PayoutItem(p.kind, p.token, p.to, p.amount, p.payoutId);
    }

    /// @notice isPayoutIdUsed reads an id outside the slot's range from the bitmap.
    function testFuzz_isPayoutIdUsed_outsideTheSlotRange(uint256 id) public {
        vm.assume(id >> 6 != 0);
        assertFalse(vault.isPayoutIdUsed(M, id));
        vm.prank(signer);
        vault.cancelPayout(M, id);
        assertTrue(vault.isPayoutIdUsed(M, id));
        if (id >> 6 <= type(uint16).max) {
            // The slot moved to the id's range: an id of range 0 is now read from the bitmap.
            assertFalse(vault.isPayoutIdUsed(M, 5));
        }
    }

    /// @notice A token's allowlist epoch wraps from 2**16 - 1 to 1 (never 0, which marks an untagged account).
    function test_allowlistEpoch_wrapsPastZero() public {
        // The token's state slot: find the mapping's base slot by the value it must hold now (allowed, known, epoch 1).
        uint256 expected = 1 | 8 | (1 << 16);
        bytes32 stateSlot;
        for (uint256 base; base < 32; ++base) {
            bytes32 candidate = keccak256(abi.encode(address(usdc), base));
            if (uint256(vm.load(address(vault), candidate)) == expected) {
                stateSlot = candidate;
                break;
            }
        }
        assertTrue(stateSlot != bytes32(0), "token state slot found");
        vm.startPrank(admin);
        vault.setTokenAllowed(address(usdc), false);
        vm.store(address(vault), stateSlot, bytes32(uint256(8 | (0xffff << 16)))); // known, epoch 65535, not allowed
        vault.setTokenAllowed(address(usdc), true);
        vm.stopPrank();
        assertEq(uint256(vm.load(address(vault), stateSlot)) >> 16, 1, "epoch wrapped to 1");
        // The account's copy (of epoch 1, long ago) matches again: still the merchant's fee, which is 0 here.
        _deposit(M, 2, address(usdc), 1_000);
        assertEq(_balance(M, address(usdc)), 1e30 + 1_000);
    }
}
