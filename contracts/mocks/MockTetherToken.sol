// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @notice Behaves like mainnet TetherToken (USDT) where it matters to the vault: `transfer` and
 * `transferFrom` return nothing, an owner-managed blacklist blocks senders, a fee (`basisPointsRate`,
 * capped by `maximumFee`, both zero on mainnet today) goes to the owner, and the token can be paused.
 * Storage reads per transfer mirror the original (paused, blacklist, fee parameters, two balances).
 */
contract MockTetherToken {
    string public name = "Tether USD";
    string public symbol = "USDT";
    uint8 public constant decimals = 6;
    address public owner;
    bool public paused;
    uint256 public basisPointsRate;
    uint256 public maximumFee;
    uint256 public totalSupply;
    mapping(address => uint256) public balances;
    mapping(address => mapping(address => uint256)) public allowed;
    mapping(address => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        owner = msg.sender;
    }

    function balanceOf(address who) external view returns (uint256) {
        return balances[who];
    }

    function allowance(address who, address spender) external view returns (uint256) {
        return allowed[who][spender];
    }

    function mint(address to, uint256 amount) external {
        balances[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function setParams(uint256 newBasisPoints, uint256 newMaxFee) external {
        require(msg.sender == owner);
        basisPointsRate = newBasisPoints;
        maximumFee = newMaxFee;
    }

    function addBlackList(address evil) external {
        require(msg.sender == owner);
        isBlackListed[evil] = true;
    }

    function removeBlackList(address clean) external {
        require(msg.sender == owner);
        isBlackListed[clean] = false;
    }

    function setPaused(bool p) external {
        require(msg.sender == owner);
        paused = p;
    }

    // No return value, like the original.
    function transfer(address to, uint256 value) external {
        require(!paused);
        require(!isBlackListed[msg.sender]);
        _transfer(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external {
        require(!paused);
        require(!isBlackListed[from]);
        uint256 allowance_ = allowed[from][msg.sender];
        if (allowance_ < type(uint256).max) allowed[from][msg.sender] = allowance_ - value;
        _transfer(from, to, value);
    }

    function approve(address spender, uint256 value) external {
        // The original refuses to change a non-zero allowance to another non-zero one.
        require(!((value != 0) && (allowed[msg.sender][spender] != 0)));
        allowed[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    function _transfer(address from, address to, uint256 value) private {
        uint256 fee = (value * basisPointsRate) / 10000;
        if (fee > maximumFee) fee = maximumFee;
        uint256 sendAmount = value - fee;
        balances[from] -= value;
        balances[to] += sendAmount;
        if (fee > 0) {
            balances[owner] += fee;
            emit Transfer(from, owner, fee);
        }
        emit Transfer(from, to, sendAmount);
    }
}
