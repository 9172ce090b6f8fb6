// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";

/**
 * @title Payout replay protection (the PAYOUT_WINDOW sliding window).
 * @notice Fuzzed sequences of payout ids (paid, by signature or by the signer, or cancelled): an id never pays
 * twice, and isPayoutIdUsed agrees at every step with a naive model written here:
 *   used(id) = id was paid or cancelled  OR  id + PAYOUT_WINDOW <= highest id ever used
 * (using an id at or above base + WINDOW slides the window so that id is its top; everything it leaves
 * below is spent).
 */
contract PayoutReplayTest is VaultTestBase {
    uint64 internal constant M = 9;
    uint256 internal constant ID_LIMIT = (1 << 40) - 1 - 40; // ids >= this revert VaultPayoutIdTooLarge
    uint256 internal signerPk;
    address internal signer;
    address internal to = makeAddr("to");

    // the model
    mapping(uint256 => bool) internal _explicitlyUsed;
    bool internal _anyUsed;
    uint256 internal _maxUsed;

    function setUp() public override {
        super.setUp();
        (signer, signerPk) = makeAddrAndKey("replaySigner");
        _register(M, signer, 0);
        _deposit(M, 1, address(usdc), 1e30);
    }

    function _modelUsed(uint256 id) internal view returns (bool) {
        return _explicitlyUsed[id] || (_anyUsed && id + vault.PAYOUT_WINDOW() <= _maxUsed);
    }

    function _modelUse(uint256 id) internal {
        _explicitlyUsed[id] = true;
        if (!_anyUsed || id > _maxUsed) _maxUsed = id;
        _anyUsed = true;
    }

    /// @dev Derives the step's payout id: small ids, ids around the window's edges, jumps, huge ids.
    function _stepId(uint256 r) internal view returns (uint256) {
        uint256 mode = r % 8;
        uint256 x = r >> 8;
        if (mode < 3) return x % 64; // the gateway's 1, 2, 3, ... and replays of them
        if (mode < 6) {
            // near the current window: below it, inside it, just above it
            uint256 lo = _maxUsed > 50 ? _maxUsed - 50 : 0;
            return lo + x % 100;
        }
        if (mode == 6) return _maxUsed + x % 1_000; // a jump that slides the window
        return x % (1 << 40); // anywhere, including too large
    }

    function _assertModelAround(uint256 id) internal view {
        uint256 lo = id > 3 ? id - 3 : 0;
        for (uint256 j = lo; j <= id + 3; ++j) {
            assertEq(vault.isPayoutIdUsed(M, j), _modelUsed(j), "isPayoutIdUsed != model");
        }
        // the window's edges
        if (_anyUsed && _maxUsed >= 40) {
            assertTrue(vault.isPayoutIdUsed(M, _maxUsed - 40), "id just below the window must be spent");
            assertEq(vault.isPayoutIdUsed(M, _maxUsed - 39), _modelUsed(_maxUsed - 39));
        }
    }

    function testFuzz_payoutIdSequence_neverPaysTwice_matchesModel(uint256 seed, uint256 length) public {
        length = bound(length, 1, 48);
        uint256[] memory ids = new uint256[](length);
        for (uint256 i; i < length; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 id = _stepId(r);
            ids[i] = id;
            uint256 action = (r >> 200) % 4; // 0,1: payoutByMerchant, 2: signed payout, 3: cancel
            IPaymentVault.Payout memory p = _payout(M, address(usdc), to, 1, id);
            bytes memory sig = action == 2 ? _sign(signerPk, p) : bytes("");
            uint256 paidBefore = usdc.balanceOf(to);

            if (id >= ID_LIMIT) {
                vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdTooLarge.selector, id));
            } else if (_modelUsed(id)) {
                vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id));
            }
            if (action == 2) {
                vault.payout(p, sig);
            } else {
                vm.prank(signer);
                if (action == 3) vault.cancelPayout(M, id);
                else vault.payoutByMerchant(p);
            }
            bool shouldSucceed = id < ID_LIMIT && !_modelUsed(id);
            if (shouldSucceed) _modelUse(id);
            uint256 expectedPaid = shouldSucceed && action != 3 ? 1 : 0;
            assertEq(usdc.balanceOf(to) - paidBefore, expectedPaid, "paid amount");
            if (id < ID_LIMIT) assertTrue(vault.isPayoutIdUsed(M, id), "an id is spent after use");
            _assertModelAround(id < ID_LIMIT ? id : _maxUsed);
        }
        // After the sequence: every id used is refused again.
        for (uint256 i; i < length; ++i) {
            uint256 id = ids[i];
            if (id >= ID_LIMIT) continue;
            IPaymentVault.Payout memory p = _payout(M, address(usdc), to, 1, id);
            vm.prank(signer);
            vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, id));
            vault.payoutByMerchant(p);
        }
    }

    /// @notice The same signed payout relayed twice pays once, whoever relays it.
    function testFuzz_signedPayout_replayReverts(uint256 id, uint128 amount, address relayer1, address relayer2)
        public
    {
        id = bound(id, 0, ID_LIMIT - 1);
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

    /// @notice Paying an id at or above base + PAYOUT_WINDOW spends, unpaid, every id it leaves below the
    /// window; ids still inside the window stay payable.
    function testFuzz_windowSlide_spendsIdsLeftBelow(uint256 high, uint256 probe) public {
        high = bound(high, vault.PAYOUT_WINDOW(), ID_LIMIT - 1);
        probe = bound(probe, 0, high - 1);
        vm.prank(signer);
        vault.payoutByMerchant(_payout(M, address(usdc), to, 1, high));
        bool spent = probe + vault.PAYOUT_WINDOW() <= high;
        assertEq(vault.isPayoutIdUsed(M, probe), spent);
        IPaymentVault.Payout memory p = _payout(M, address(usdc), to, 1, probe);
        if (spent) vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdUsed.selector, M, probe));
        vm.prank(signer);
        vault.payoutByMerchant(p);
    }

    /// @notice Payout ids are per merchant: another merchant's use of an id does not spend this one's.
    function testFuzz_payoutIds_arePerMerchant(uint256 id, uint64 other) public {
        id = bound(id, 0, ID_LIMIT - 1);
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

    function testFuzz_payout_reverts_whenIdTooLarge(uint256 id) public {
        id = bound(id, ID_LIMIT, type(uint256).max);
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultPayoutIdTooLarge.selector, id));
        vault.payoutByMerchant(_payout(M, address(usdc), to, 1, id));
    }
}
