// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title TokenCalls
 * @notice The vault's low-level calls in a sweep loop: `balanceOf` and commands to a deposit address.
 * @dev Written in assembly so that a loop of a hundred sweeps reuses the same scratch memory above the free
 * memory pointer instead of allocating (and paying quadratic memory expansion for) a new buffer each time.
 * Nothing here keeps memory: every function writes at the free pointer without moving it.
 */
library TokenCalls {
    /// @dev `token.balanceOf(account)` reverted or returned less than 32 bytes.
    error TokenCallsBalanceOfFailed(address token, address account);

    /// @notice `token.balanceOf(account)`; reverts if the token does not answer with a word.
    function balanceOfAccount(address token, address account) internal view returns (uint256 amount) {
        bool ok;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, 0x70a0823100000000000000000000000000000000000000000000000000000000) // balanceOf(address)
            mstore(add(ptr, 0x04), account)
            ok := and(gt(returndatasize(), 0x1f), staticcall(gas(), token, ptr, 0x24, ptr, 0x20))
            amount := mload(ptr)
        }
        if (!ok) revert TokenCallsBalanceOfFailed(token, account);
    }

    /**
     * @notice Has `depositAddress` call `token.transfer(to, amount)`.
     * @return ok whether the call succeeded and returned `true`, or returned nothing (USDT-style) from an
     * address that has code (a call to an address without code "succeeds" and returns nothing too)
     */
    function forwardTransfer(address depositAddress, address token, address to, uint256 amount)
        internal
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            // deposit-address command: target | value | data
            mstore(ptr, token)
            mstore(add(ptr, 0x20), 0)
            mstore(add(ptr, 0x40), 0xa9059cbb00000000000000000000000000000000000000000000000000000000) // transfer
            mstore(add(ptr, 0x44), to)
            mstore(add(ptr, 0x64), amount)
            ok := call(gas(), depositAddress, 0, ptr, 0x84, ptr, 0x20)
            // Accept a word equal to 1, or an empty answer (tokens that return nothing) from an address with
            // code (the call made it warm: 100 gas, paid only for empty answers).
            switch returndatasize()
            case 0 { ok := and(ok, gt(extcodesize(depositAddress), 0)) }
            default { ok := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(ptr), 1))) }
        }
    }

    /**
     * @notice Has `depositAddress` call `target` with `value` native coin and `data`.
     * @return ok whether the call succeeded
     */
    function forward(address depositAddress, address target, uint256 value, bytes memory data)
        internal
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := mload(data)
            mstore(ptr, target)
            mstore(add(ptr, 0x20), value)
            mcopy(add(ptr, 0x40), add(data, 0x20), len)
            ok := call(gas(), depositAddress, 0, ptr, add(0x40, len), 0, 0)
        }
    }
}
