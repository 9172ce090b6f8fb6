// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A malicious ERC-20 that, on every transfer, calls back into a target with preset calldata and
/// records whether the call succeeded (the vault must refuse it).
contract ReentrantToken is ERC20 {
    address public callbackTarget;
    bytes public callData;
    bool public attempted;
    bool public reentered;
    bytes public lastRevert;

    constructor() ERC20("Reentrant", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata callData_) external {
        callbackTarget = target_;
        callData = callData_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (callbackTarget != address(0) && from != address(0) && to != address(0)) {
            address t = callbackTarget;
            callbackTarget = address(0); // one attempt per arming
            attempted = true;
            (bool ok, bytes memory ret) = t.call(callData);
            reentered = ok;
            lastRevert = ret;
        }
    }
}
