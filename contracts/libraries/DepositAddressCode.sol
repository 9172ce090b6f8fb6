// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title DepositAddressCode
 * @notice The bytecode of a deposit address: 69 bytes of hand-written EVM that only its vault can command.
 *
 * Every byte of it costs 200 gas when an address is first deployed and every opcode on the receive path
 * is paid by a payer, so it is written by hand rather than as an EIP-1167 proxy (whose cold DELEGATECALL
 * alone costs a payer 2,600 gas and breaks Solidity's 2,300-gas `transfer()`).
 *
 * Behaviour:
 * - Called by anyone but the vault (a payer's plain native transfer, usually), or by the vault with no
 *   calldata (a payout or fee claim of the native coin to this address): emits
 *   `LOG3(topic0 = vault, topic1 = caller, topic2 = callvalue)` with no data and stops. A payer's native
 *   transfer therefore costs 21,000 + ~1,560 gas once the address has code, fits in a 2,300-gas stipend,
 *   and is visible to the indexer as a log filtered by topic0 = the vault's address and the log's
 *   emitter = a watched deposit address (only the deposit address itself can emit logs from its address).
 * - Called by the vault with calldata: the calldata is `target (32 bytes) | value (32 bytes) | data`. The
 *   address calls `target` with `value` and `data`, then returns or reverts with exactly what `target`
 *   returned. The vault uses this for `token.transfer(vault, amount)`, for sending the native coin to
 *   itself, and for a merchant's rescue of a non-allowlisted token; nothing else can command the address.
 *   The vault's commands are at least 64 bytes long; it never sends 1..63 bytes (for which
 *   `CALLDATASIZE - 64` below would wrap and the call run out of gas).
 *
 * Runtime code (V = the vault's address, embedded):
 *
 * | pc   | bytes        | opcode          | stack after (top first)           |
 * |------|--------------|-----------------|-----------------------------------|
 * | 0x00 | 73 V         | PUSH20 V        | V                                 |
 * | 0x15 | 80           | DUP1            | V V                               |
 * | 0x16 | 33           | CALLER          | caller V V                        |
 * | 0x17 | 14           | EQ              | (caller==V) V                     |
 * | 0x18 | 36           | CALLDATASIZE    | cds (caller==V) V                 |
 * | 0x19 | 02           | MUL             | cmd V      (non-zero iff a command: from V, with data) |
 * | 0x1a | 60 24        | PUSH1 0x24      | 0x24 cmd V                        |
 * | 0x1c | 57           | JUMPI           | V                                 |
 * |      |              | -- receive --   |                                   |
 * | 0x1d | 34           | CALLVALUE       | value V                           |
 * | 0x1e | 33           | CALLER          | caller value V                    |
 * | 0x1f | 82           | DUP3            | V caller value V                  |
 * | 0x20 | 5f 5f        | PUSH0 PUSH0     | 0 0 V caller value V              |
 * | 0x22 | a3           | LOG3            | V             (log V,caller,value)|
 * | 0x23 | 00           | STOP            |                                   |
 * |      |              | -- forward --   |                                   |
 * | 0x24 | 5b           | JUMPDEST        | V                                 |
 * | 0x25 | 5f 5f        | PUSH0 PUSH0     | 0 0 V                  (retSize, retOffset) |
 * | 0x27 | 60 40 36 03  | CALLDATASIZE-64 | len 0 0 V              (argsSize)  |
 * | 0x2b | 80 60 40 5f  | DUP1 64 0       | 0 64 len len 0 0 V                |
 * | 0x2f | 37           | CALLDATACOPY    | len 0 0 V  (memory[0..len) = data) |
 * | 0x30 | 5f           | PUSH0           | 0 len 0 0 V            (argsOffset) |
 * | 0x31 | 60 20 35     | CALLDATALOAD(32)| value 0 len 0 0 V                 |
 * | 0x34 | 5f 35        | CALLDATALOAD(0) | target value 0 len 0 0 V          |
 * | 0x36 | 5a           | GAS             | gas target value 0 len 0 0 V      |
 * | 0x37 | f1           | CALL            | ok V                              |
 * | 0x38 | 3d 5f 5f 3e  | RETURNDATACOPY  | ok V   (memory[0..rds) = returndata) |
 * | 0x3c | 3d 5f        | RDS PUSH0       | 0 rds ok V                        |
 * | 0x3e | 82           | DUP3            | ok 0 rds ok V                     |
 * | 0x3f | 60 43 57     | JUMPI 0x43      | 0 rds ok V                        |
 * | 0x42 | fd           | REVERT(0, rds)  |                                   |
 * | 0x43 | 5b f3        | RETURN(0, rds)  |                                   |
 *
 * Init code (9 bytes) copies the 69 runtime bytes that follow it into memory and returns them:
 * `60 45 80 60 09 5f 39 5f f3` = PUSH1 69, DUP1, PUSH1 9, PUSH0, CODECOPY, PUSH0, RETURN.
 */
library DepositAddressCode {
    /// @dev Length of the runtime code.
    uint256 internal constant RUNTIME_LENGTH = 69;

    /// @notice The creation code of a deposit address commanded by `vault`.
    function initCode(address vault) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"6045_80_6009_5f_39_5f_f3", // init: return the runtime below
            hex"73", vault, // PUSH20 vault
            hex"803314_3602_6024_57", // DUP1 CALLER EQ, CALLDATASIZE MUL, PUSH1 0x24 JUMPI
            hex"3433825f5fa300", // receive: LOG3(vault, caller, callvalue) STOP
            hex"5b5f5f60403603_8060405f37", // forward: copy data after the two words to memory[0..)
            hex"5f602035_5f35_5af1", // CALL(gas, target, value, 0, len, 0, 0)
            hex"3d5f5f3e_3d5f82604357_fd_5bf3" // bubble the returndata: REVERT or RETURN
        );
    }

    /**
     * @notice Deploys the deposit address of `salt` for `vault` (the caller) with CREATE2; returns zero if
     * the creation failed. The same bytes as {initCode}, written as four words at the free memory pointer
     * (not allocated, not kept) instead of concatenated: this runs on every first sweep of an address.
     */
    function create2(address vault, uint256 salt) internal returns (address deployed) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            // bytes 0..9: the 9-byte init code and PUSH20 (left-aligned)
            mstore(ptr, 0x60458060095f395ff37300000000000000000000000000000000000000000000)
            // bytes 10..29: the vault (bytes 30..41 are zeroed, then overwritten below)
            mstore(add(ptr, 10), shl(96, vault))
            // bytes 30..61: the first 32 bytes of the runtime after PUSH20 V
            mstore(add(ptr, 30), 0x80331436026024573433825f5fa3005b5f5f604036038060405f375f6020355f)
            // bytes 62..77: the last 16 bytes (the rest of the word is zero and not part of the code)
            mstore(add(ptr, 62), 0x355af13d5f5f3e3d5f82604357fd5bf300000000000000000000000000000000)
            deployed := create2(0, ptr, 78, salt)
        }
    }
}
