// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title DepositAddressCode
 * @notice The bytecode of a deposit address: 67 bytes of hand-written EVM that only its vault can command.
 *
 * Every byte of it costs 200 gas when an address is first deployed and every opcode on the receive path
 * is paid by a payer, so it is written by hand rather than as an EIP-1167 proxy (whose cold DELEGATECALL
 * alone costs a payer 2,600 gas and breaks Solidity's 2,300-gas `transfer()`).
 *
 * Behaviour:
 * - Called by anyone but the vault (a payer's plain native transfer, usually): emits
 *   `LOG3(topic0 = vault, topic1 = caller, topic2 = callvalue)` with no data and stops. A payer's native
 *   transfer therefore costs 21,000 + ~1,560 gas once the address has code, fits in a 2,300-gas stipend,
 *   and is visible to the indexer as a log filtered by topic0 = the vault's address and the log's
 *   emitter = a watched deposit address (only the deposit address itself can emit logs from its address).
 * - Called by the vault: calldata is `target (32 bytes) | value (32 bytes) | data`. The address calls
 *   `target` with `value` and `data`, then returns or reverts with exactly what `target` returned.
 *   The vault uses this for `token.transfer(vault, amount)`, for sending the native coin to itself, and
 *   for a merchant's rescue of a non-allowlisted token; nothing else can command the address.
 *
 * Runtime code (V = the vault's address, embedded):
 *
 * | pc   | bytes        | opcode          | stack after (top first)           |
 * |------|--------------|-----------------|-----------------------------------|
 * | 0x00 | 73 V         | PUSH20 V        | V                                 |
 * | 0x15 | 80           | DUP1            | V V                               |
 * | 0x16 | 33           | CALLER          | caller V V                        |
 * | 0x17 | 14           | EQ              | (caller==V) V                     |
 * | 0x18 | 60 22        | PUSH1 0x22      | 0x22 (caller==V) V                |
 * | 0x1a | 57           | JUMPI           | V                                 |
 * |      |              | -- receive --   |                                   |
 * | 0x1b | 34           | CALLVALUE       | value V                           |
 * | 0x1c | 33           | CALLER          | caller value V                    |
 * | 0x1d | 82           | DUP3            | V caller value V                  |
 * | 0x1e | 5f 5f        | PUSH0 PUSH0     | 0 0 V caller value V              |
 * | 0x20 | a3           | LOG3            | V             (log V,caller,value)|
 * | 0x21 | 00           | STOP            |                                   |
 * |      |              | -- forward --   |                                   |
 * | 0x22 | 5b           | JUMPDEST        | V                                 |
 * | 0x23 | 5f 5f        | PUSH0 PUSH0     | 0 0 V                  (retSize, retOffset) |
 * | 0x25 | 60 40 36 03  | CALLDATASIZE-64 | len 0 0 V              (argsSize)  |
 * | 0x29 | 80 60 40 5f  | DUP1 64 0       | 0 64 len len 0 0 V                |
 * | 0x2d | 37           | CALLDATACOPY    | len 0 0 V  (memory[0..len) = data) |
 * | 0x2e | 5f           | PUSH0           | 0 len 0 0 V            (argsOffset) |
 * | 0x2f | 60 20 35     | CALLDATALOAD(32)| value 0 len 0 0 V                 |
 * | 0x32 | 5f 35        | CALLDATALOAD(0) | target value 0 len 0 0 V          |
 * | 0x34 | 5a           | GAS             | gas target value 0 len 0 0 V      |
 * | 0x35 | f1           | CALL            | ok V                              |
 * | 0x36 | 3d 5f 5f 3e  | RETURNDATACOPY  | ok V   (memory[0..rds) = returndata) |
 * | 0x3a | 3d 5f        | RDS PUSH0       | 0 rds ok V                        |
 * | 0x3c | 82           | DUP3            | ok 0 rds ok V                     |
 * | 0x3d | 60 41 57     | JUMPI 0x41      | 0 rds ok V                        |
 * | 0x40 | fd           | REVERT(0, rds)  |                                   |
 * | 0x41 | 5b f3        | RETURN(0, rds)  |                                   |
 *
 * Init code (9 bytes) copies the 67 runtime bytes that follow it into memory and returns them:
 * `60 43 80 60 09 5f 39 5f f3` = PUSH1 67, DUP1, PUSH1 9, PUSH0, CODECOPY, PUSH0, RETURN.
 */
library DepositAddressCode {
    /// @dev Length of the runtime code.
    uint256 internal constant RUNTIME_LENGTH = 67;

    /// @notice The creation code of a deposit address commanded by `vault`.
    function initCode(address vault) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"6043_80_6009_5f_39_5f_f3", // init: return the runtime below
            hex"73", vault, // PUSH20 vault
            hex"8033146022_57", // DUP1 CALLER EQ PUSH1 0x22 JUMPI
            hex"3433825f5fa300", // receive: LOG3(vault, caller, callvalue) STOP
            hex"5b5f5f60403603_8060405f37", // forward: copy data after the two words to memory[0..)
            hex"5f602035_5f35_5af1", // CALL(gas, target, value, 0, len, 0, 0)
            hex"3d5f5f3e_3d5f82604157_fd_5bf3" // bubble the returndata: REVERT or RETURN
        );
    }
}
