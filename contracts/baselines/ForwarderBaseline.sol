// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

/**
 * @title Forwarder (gas baseline only, not part of the gateway)
 * @notice The common "forwarder per deposit address" design the vault is benchmarked against: every deposit
 * address is an EIP-1167 minimal clone of this implementation, and anyone may `flush` a token, which sends
 * the clone's whole balance of it to one fixed vault. There is no ledger: crediting merchants is left to an
 * off-chain indexer, and each address is swept by its own transaction.
 */
contract Forwarder {
    using SafeERC20 for IERC20;

    error ForwarderNativeFlushFailed();

    /// @notice Where every flush goes (an immutable, so the clones read it from this code, no storage).
    address public immutable vault;

    constructor(address vault_) {
        vault = vault_;
    }

    /// @notice Accepts the native coin from payers (through the clone's DELEGATECALL).
    receive() external payable {}

    /// @notice Sends this address's whole balance of `token` (`address(0)`: the native coin) to {vault}.
    function flush(address token) external {
        if (token == address(0)) {
            (bool ok,) = vault.call{value: address(this).balance}("");
            if (!ok) revert ForwarderNativeFlushFailed();
        } else {
            IERC20(token).safeTransfer(vault, IERC20(token).balanceOf(address(this)));
        }
    }
}

/// @notice Creates {Forwarder} clones at CREATE2 addresses (gas baseline only).
contract ForwarderFactory {
    /// @notice The {Forwarder} implementation every clone delegates to.
    address public immutable implementation;

    constructor(address vault) {
        implementation = address(new Forwarder(vault));
    }

    /// @notice The clone address for `salt`, deployed or not.
    function predict(bytes32 salt) external view returns (address) {
        return Clones.predictDeterministicAddress(implementation, salt);
    }

    /// @notice Deploys the clone for `salt` and flushes `token` from it, in one transaction.
    function createAndFlush(bytes32 salt, address token) external returns (address forwarder) {
        forwarder = Clones.cloneDeterministic(implementation, salt);
        Forwarder(payable(forwarder)).flush(token);
    }
}
