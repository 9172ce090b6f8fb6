// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A contract that refuses the native coin.
contract RejectingReceiver {
    receive() external payable {
        revert("no thanks");
    }
}

/// @notice Pays with Solidity's `transfer()` (2,300 gas stipend) or `call` with a chosen gas limit, like
/// exchanges and old contract wallets do.
contract NativeSender {
    function sendWithTransfer(address payable to) external payable {
        to.transfer(msg.value);
    }

    function sendWithGas(address to, uint256 gasLimit) external payable returns (bool ok) {
        (ok,) = to.call{value: msg.value, gas: gasLimit}("");
    }
}

/// @notice An ERC-1271 smart-contract signer (a one-owner Safe, in effect).
contract ERC1271Wallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered,,) = ECDSA.tryRecover(hash, signature);
        return recovered == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function execute(address target, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == owner, "not owner");
        (bool ok, bytes memory ret) = target.call(data);
        require(ok, "call failed");
        return ret;
    }
}
