// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {VaultTestBase} from "./utils/VaultTestBase.sol";
import {IPaymentVault} from "../../contracts/interfaces/IPaymentVault.sol";

/**
 * @title Deposit-address prediction.
 * @notice predictDepositAddress(merchantId, kind, key) is the CREATE2 address
 * keccak256(0xff ++ vault ++ salt ++ DEPOSIT_INIT_CODE_HASH)[12:], with salt = id << 192 | kind << 184 | key,
 * and it is where a sweep or deployDepositAddresses actually deploys. The init code is rebuilt here byte by
 * byte from the table in DepositAddressCode's documentation, independently of the library.
 */
contract DepositAddressPredictionTest is VaultTestBase {
    function _kind(uint8 seed) internal pure returns (IPaymentVault.DepositKind) {
        return seed % 2 == 0 ? IPaymentVault.DepositKind.Payment : IPaymentVault.DepositKind.Recharge;
    }

    function _expectedRuntime() internal view returns (bytes memory) {
        return bytes.concat(
            hex"73", bytes20(address(vault)), // 0x00 PUSH20 V
            hex"80_33_14_36_02_6024_57", // 0x15 DUP1 CALLER EQ CALLDATASIZE MUL PUSH1 0x24 JUMPI
            hex"34_33_82_5f_5f_a3_00", // 0x1d receive: CALLVALUE CALLER DUP3 PUSH0 PUSH0 LOG3 STOP
            hex"5b_5f_5f_6040_36_03_80_6040_5f_37", // 0x24 forward: JUMPDEST, CALLDATACOPY(0, 64, size-64)
            hex"5f_6020_35_5f_35_5a_f1", // 0x30 CALL(gas, cd[0], cd[32], 0, size-64, 0, 0)
            hex"3d_5f_5f_3e_3d_5f_82_6043_57_fd_5b_f3" // 0x38 RETURNDATACOPY, JUMPI to RETURN else REVERT
        );
    }

    function _expectedInitCode() internal view returns (bytes memory) {
        return bytes.concat(hex"6045_80_6009_5f_39_5f_f3", _expectedRuntime());
    }

    function _create2(uint256 salt) internal view returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(vault), salt, vault.DEPOSIT_INIT_CODE_HASH()))))
        );
    }

    function test_initCodeHash_matchesDocumentedBytecode() public view {
        assertEq(_expectedRuntime().length, 69);
        assertEq(vault.DEPOSIT_INIT_CODE_HASH(), keccak256(_expectedInitCode()));
    }

    function testFuzz_depositSalt_packsFields(uint64 id, uint8 kindSeed, uint256 key) public view {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        IPaymentVault.DepositKind kind = _kind(kindSeed);
        uint256 salt = vault.depositSalt(id, kind, key);
        assertEq(salt, (uint256(id) << 192) | (uint256(uint8(kind)) << 184) | key);
        assertEq(salt & vault.DEPLOY_FLAG(), 0, "DEPLOY_FLAG is never part of a salt");
    }

    function testFuzz_predictDepositAddress_matchesCreate2Formula(uint64 id, uint8 kindSeed, uint256 key) public view {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        IPaymentVault.DepositKind kind = _kind(kindSeed);
        uint256 salt = (uint256(id) << 192) | (uint256(uint8(kind)) << 184) | key;
        assertEq(vault.predictDepositAddress(id, kind, key), _create2(salt));
        // and the standard library's CREATE2 helper agrees
        assertEq(vault.predictDepositAddress(id, kind, key), vm.computeCreate2Address(bytes32(salt), keccak256(_expectedInitCode()), address(vault)));
    }

    function testFuzz_predictDepositAddress_distinctForDistinctInputs(
        uint64 idA,
        uint8 kindA,
        uint256 keyA,
        uint64 idB,
        uint8 kindB,
        uint256 keyB
    ) public view {
        idA = uint64(bound(idA, 1, type(uint64).max));
        idB = uint64(bound(idB, 1, type(uint64).max));
        keyA = bound(keyA, 0, (1 << 184) - 1);
        keyB = bound(keyB, 0, (1 << 184) - 1);
        vm.assume(idA != idB || _kind(kindA) != _kind(kindB) || keyA != keyB);
        assertNotEq(
            vault.predictDepositAddress(idA, _kind(kindA), keyA), vault.predictDepositAddress(idB, _kind(kindB), keyB)
        );
    }

    /// @notice A flagged sweep deploys exactly at the predicted address, emits DepositAddressDeployed with the
    /// salt, leaves the documented runtime there, and credits what was paid before deployment.
    function testFuzz_sweep_deploysAtPredictedAddress(uint64 id, uint8 kindSeed, uint256 key, uint96 amount) public {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        amount = uint96(bound(amount, 1, type(uint96).max));
        IPaymentVault.DepositKind kind = _kind(kindSeed);
        (address signer,) = makeAddrAndKey("s");
        _register(id, signer, 0);
        uint256 salt = vault.depositSalt(id, kind, key);
        address predicted = _create2(salt);
        assertEq(predicted.code.length, 0);
        usdc.mint(predicted, amount);

        uint256[] memory entries = new uint256[](1);
        entries[0] = salt | vault.DEPLOY_FLAG();
        vm.expectEmit(address(vault));
        emit IPaymentVault.DepositAddressDeployed(predicted, salt);
        vm.prank(operator);
        vault.sweep(address(usdc), entries, new uint256[](0));

        assertEq(predicted.code, _expectedRuntime());
        assertEq(usdc.balanceOf(predicted), 0);
        assertEq(_balance(id, address(usdc)), amount);

        // Flagging it again (only the operator can: nobody else deploys) makes CREATE2 fail and the sweep revert.
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultDeployFailed.selector, salt));
        vault.sweep(address(usdc), entries, new uint256[](0));
    }

    function testFuzz_deployDepositAddresses_deploysAtPredictedAddress(uint64 id, uint8 kindSeed, uint256 key) public {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        IPaymentVault.DepositKind kind = _kind(kindSeed);
        _register(id, makeAddr("s"), 0);
        uint256[] memory salts = new uint256[](2);
        salts[0] = vault.depositSalt(id, kind, key);
        salts[1] = salts[0]; // the repeat is passed over, not redeployed
        address predicted = vault.predictDepositAddress(id, kind, key);
        vm.recordLogs();
        vm.prank(operator);
        vault.deployDepositAddresses(salts);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one DepositAddressDeployed");
        assertEq(logs[0].topics[0], IPaymentVault.DepositAddressDeployed.selector);
        assertEq(address(uint160(uint256(logs[0].topics[1]))), predicted);
        assertEq(predicted.code, _expectedRuntime());
    }

    /// @notice Only the vault commands a deposit address: any other caller with any calldata and value just
    /// leaves a LOG3(vault, caller, value) and moves none of the address's funds.
    function testFuzz_depositAddress_obeysOnlyTheVault(address caller, bytes calldata data, uint64 value) public {
        vm.assume(caller != address(vault));
        _register(5, makeAddr("s"), 0);
        uint256[] memory salts = new uint256[](1);
        salts[0] = _salt(5, 1);
        vm.prank(operator);
        vault.deployDepositAddresses(salts);
        address a = vault.predictDepositAddress(5, IPaymentVault.DepositKind.Payment, 1);
        usdc.mint(a, 1e6);
        vm.deal(a, 1 ether);
        vm.deal(caller, uint256(value));
        // the two shapes of command the vault sends, plus arbitrary data
        bytes[3] memory payloads = [
            data,
            abi.encodePacked(abi.encode(address(usdc), uint256(0)), abi.encodeCall(usdc.transfer, (caller, 1e6))),
            abi.encode(caller, uint256(1 ether))
        ];
        for (uint256 i; i < 3; ++i) {
            vm.recordLogs();
            vm.prank(caller);
            (bool ok, bytes memory ret) = a.call{value: i == 0 ? value : 0}(payloads[i]);
            assertTrue(ok);
            assertEq(ret.length, 0);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            assertEq(logs.length, 1);
            assertEq(logs[0].emitter, a);
            assertEq(logs[0].topics[0], bytes32(uint256(uint160(address(vault)))));
            assertEq(logs[0].topics[1], bytes32(uint256(uint160(caller))));
            assertEq(logs[0].topics[2], bytes32(uint256(i == 0 ? value : 0)));
        }
        assertEq(usdc.balanceOf(a), 1e6);
        assertEq(a.balance, 1 ether + uint256(value));
    }

    // ------------------------------------------------------------ invalid salts

    function testFuzz_depositSalt_reverts_onKindNone(uint64 id, uint256 key) public {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidDepositKind.selector, uint8(0)));
        vault.depositSalt(id, IPaymentVault.DepositKind.None, key);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidDepositKind.selector, uint8(0)));
        vault.predictDepositAddress(id, IPaymentVault.DepositKind.None, key);
    }

    /// @notice kind > 2 is not a DepositKind: the ABI decoder refuses it.
    function testFuzz_depositSalt_reverts_onKindAboveTwo(uint64 id, uint8 kind, uint256 key) public view {
        id = uint64(bound(id, 1, type(uint64).max));
        kind = uint8(bound(kind, 3, 255));
        key = bound(key, 0, (1 << 184) - 1);
        (bool ok,) = address(vault).staticcall(abi.encodeWithSelector(vault.depositSalt.selector, id, kind, key));
        assertFalse(ok);
        (ok,) = address(vault).staticcall(abi.encodeWithSelector(vault.predictDepositAddress.selector, id, kind, key));
        assertFalse(ok);
    }

    function testFuzz_depositSalt_reverts_onKeyTooLarge(uint64 id, uint8 kindSeed, uint256 key) public {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 1 << 184, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultDepositKeyTooLarge.selector, key));
        vault.depositSalt(id, _kind(kindSeed), key);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultDepositKeyTooLarge.selector, key));
        vault.predictDepositAddress(id, _kind(kindSeed), key);
    }

    function testFuzz_depositSalt_reverts_onMerchantZero(uint8 kindSeed, uint256 key) public {
        key = bound(key, 0, (1 << 184) - 1);
        vm.expectRevert(IPaymentVault.VaultInvalidMerchantId.selector);
        vault.depositSalt(0, _kind(kindSeed), key);
        vm.expectRevert(IPaymentVault.VaultInvalidMerchantId.selector);
        vault.predictDepositAddress(0, _kind(kindSeed), key);
    }

    /// @notice A raw salt with kind 0 or kind >= 3 is never deployed, by sweep or by deployDepositAddresses.
    function testFuzz_deploy_reverts_onInvalidKindInRawSalt(uint8 kind, uint256 key) public {
        kind = uint8(bound(kind, 0, 127)); // bit 7 of the kind byte is DEPLOY_FLAG
        vm.assume(kind != 1 && kind != 2);
        key = bound(key, 0, (1 << 184) - 1);
        _register(3, makeAddr("s"), 0);
        uint256 salt = (uint256(3) << 192) | (uint256(kind) << 184) | key;
        uint256[] memory entries = new uint256[](1);
        entries[0] = salt;
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidDepositKind.selector, kind));
        vault.deployDepositAddresses(entries);
        entries[0] = salt | vault.DEPLOY_FLAG();
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultInvalidDepositKind.selector, kind));
        vault.sweep(address(usdc), entries, new uint256[](0));
        vm.stopPrank();
    }

    function testFuzz_deployDepositAddresses_reverts_onUnknownMerchant(uint64 id, uint256 key) public {
        id = uint64(bound(id, 1, type(uint64).max));
        key = bound(key, 0, (1 << 184) - 1);
        uint256[] memory salts = new uint256[](1);
        salts[0] = vault.depositSalt(id, IPaymentVault.DepositKind.Recharge, key);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IPaymentVault.VaultUnknownMerchant.selector, id));
        vault.deployDepositAddresses(salts);
    }
}
