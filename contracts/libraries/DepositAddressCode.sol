// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title DepositAddressCode
 * @notice The bytecode of a deposit address: 66 bytes of hand-written EVM that only its vault can command.
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
 *   The call's arguments are `data` followed by 64 zero bytes (the address passes `CALLDATASIZE` bytes
 *   from offset 64 of a copy of the calldata, where memory past it is zero): ABI decoders ignore trailing
 *   bytes, and no length is computed by subtraction, so no call length can make it wrap.
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
 * | 0x27 | 36           | CALLDATASIZE    | cds 0 0 V              (argsSize)  |
 * | 0x28 | 80 5f 5f     | DUP1 PUSH0 PUSH0| 0 0 cds cds 0 0 V                 |
 * | 0x2b | 37           | CALLDATACOPY    | cds 0 0 V  (memory[0..cds) = calldata) |
 * | 0x2c | 60 40        | PUSH1 64        | 64 cds 0 0 V           (argsOffset: data, then zeros) |
 * | 0x2e | 60 20 35     | CALLDATALOAD(32)| value 64 cds 0 0 V                |
 * | 0x31 | 5f 35        | CALLDATALOAD(0) | target value 64 cds 0 0 V         |
 * | 0x33 | 5a           | GAS             | gas target value 64 cds 0 0 V     |
 * | 0x34 | f1           | CALL            | ok V                              |
 * | 0x35 | 3d 5f 5f 3e  | RETURNDATACOPY  | ok V   (memory[0..rds) = returndata) |
 * | 0x39 | 3d 5f        | RDS PUSH0       | 0 rds ok V                        |
 * | 0x3b | 82           | DUP3            | ok 0 rds ok V                     |
 * | 0x3c | 60 40 57     | JUMPI 0x40      | 0 rds ok V                        |
 * | 0x3f | fd           | REVERT(0, rds)  |                                   |
 * | 0x40 | 5b f3        | RETURN(0, rds)  |                                   |
 *
 * Init code (9 bytes) copies the 66 runtime bytes that follow it into memory and returns them:
 * `60 42 80 60 09 5f 39 5f f3` = PUSH1 66, DUP1, PUSH1 9, PUSH0, CODECOPY, PUSH0, RETURN.
 */
library DepositAddressCode {
    /// @dev Length of the runtime code.
    uint256 internal constant RUNTIME_LENGTH = 66;

    /// @notice The creation code of a deposit address commanded by `vault`.
    function initCode(address vault) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"6042_80_6009_5f_39_5f_f3", // init: return the runtime below
            hex"73", vault, // PUSH20 vault
            hex"803314_3602_6024_57", // DUP1 CALLER EQ, CALLDATASIZE MUL, PUSH1 0x24 JUMPI
            hex"3433825f5fa300", // receive: LOG3(vault, caller, callvalue) STOP
            hex"5b5f5f36_805f5f37", // forward: copy the calldata to memory[0..)
            hex"6040_602035_5f35_5af1", // CALL(gas, target, value, 64, CALLDATASIZE, 0, 0)
            hex"3d5f5f3e_3d5f82604057_fd_5bf3" // bubble the returndata: REVERT or RETURN
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
            mstore(ptr, 0x60428060095f395ff37300000000000000000000000000000000000000000000)
            // bytes 10..29: the vault (bytes 30..41 are zeroed, then overwritten below)
            mstore(add(ptr, 10), shl(96, vault))
            // bytes 30..61: the first 32 bytes of the runtime after PUSH20 V
            mstore(add(ptr, 30), 0x80331436026024573433825f5fa3005b5f5f36805f5f3760406020355f355af1)
            // bytes 62..74: the last 13 bytes (the rest of the word is zero and not part of the code)
            mstore(add(ptr, 62), 0x3d5f5f3e3d5f82604057fd5bf300000000000000000000000000000000000000)
            deployed := create2(0, ptr, 75, salt)
        }
    }
}
