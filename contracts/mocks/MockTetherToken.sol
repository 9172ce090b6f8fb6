// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @notice A model of mainnet TetherToken (USDT, solc 0.4.17) for tests and gas: the same storage layout and
 * the same storage reads and checks on every call the vault makes, so that a sweep or payout pays the cold
 * and warm slot accesses the real token charges.
 *
 * Layout (as the original's inheritance linearises it):
 * slot 0 `owner` + `paused` (Ownable, Pausable: packed), 1 `_totalSupply`, 2 `balances`, 3 `basisPointsRate`,
 * 4 `maximumFee`, 5 `allowed`, 6 `isBlackListed`, 7 `name`, 8 `symbol`, 9 `decimals`, 10 `upgradedAddress` +
 * `deprecated` (packed).
 *
 * Reads per call, as the original:
 * - `balanceOf(who)`: `deprecated` (slot 10), `balances[who]`.
 * - `transfer(to, value)`: `paused` (slot 0), `isBlackListed[msg.sender]`, `deprecated`, the payload-size
 *   check, `basisPointsRate`, `maximumFee`, `balances[msg.sender]`, `balances[to]`; with a fee, `owner`
 *   (slot 0, warm) and `balances[owner]`. Returns nothing, like the original.
 *
 * Differences, for tests: anyone may `mint` (the original's `issue` mints to the owner), and `setParams` takes
 * raw values (the original caps basis points below 20 and the fee below 50 whole tokens). `deprecated` is
 * never set (the original forwards every call to its upgraded contract then).
 */
contract MockTetherToken {
    address public owner;
    bool public paused;
    uint256 public _totalSupply;
    mapping(address => uint256) public balances;
    uint256 public basisPointsRate;
    uint256 public maximumFee;
    mapping(address => mapping(address => uint256)) public allowed;
    mapping(address => bool) public isBlackListed;
    string public name = "Tether USD";
    string public symbol = "USDT";
    uint256 public decimals = 6;
    address public upgradedAddress;
    bool public deprecated;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    modifier onlyOwner() {
        require(msg.sender == owner);
        _;
    }

    modifier whenNotPaused() {
        require(!paused);
        _;
    }

    /// @dev The original's guard against short-address calldata.
    modifier onlyPayloadSize(uint256 size) {
        require(!(msg.data.length < size + 4));
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function totalSupply() external view returns (uint256) {
        require(!deprecated);
        return _totalSupply;
    }

    function balanceOf(address who) external view returns (uint256) {
        require(!deprecated); // the original forwards to the upgraded token here
        return balances[who];
    }

    function allowance(address who, address spender) external view returns (uint256) {
        require(!deprecated);
        return allowed[who][spender];
    }

    /// @dev Test-only minting (the original's `issue(amount)` credits the owner).
    function mint(address to, uint256 amount) external {
        balances[to] += amount;
        _totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function setParams(uint256 newBasisPoints, uint256 newMaxFee) external onlyOwner {
        basisPointsRate = newBasisPoints;
        maximumFee = newMaxFee;
    }

    function addBlackList(address evil) external onlyOwner {
        isBlackListed[evil] = true;
    }

    function removeBlackList(address clean) external onlyOwner {
        isBlackListed[clean] = false;
    }

    function setPaused(bool p) external onlyOwner {
        paused = p;
    }

    // No return value, like the original.
    function transfer(address to, uint256 value) external whenNotPaused {
        require(!isBlackListed[msg.sender]);
        require(!deprecated);
        _transfer(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external whenNotPaused onlyPayloadSize(3 * 32) {
        require(!isBlackListed[from]);
        require(!deprecated);
        uint256 allowance_ = allowed[from][msg.sender];
        if (allowance_ < type(uint256).max) allowed[from][msg.sender] = allowance_ - value;
        _transfer(from, to, value);
    }

    function approve(address spender, uint256 value) external onlyPayloadSize(2 * 32) {
        require(!deprecated);
        // The original refuses to change a non-zero allowance to another non-zero one.
        require(!((value != 0) && (allowed[msg.sender][spender] != 0)));
        allowed[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    /// @dev BasicToken.transfer: payload check, fee from `basisPointsRate` capped by `maximumFee`, two balances.
    function _transfer(address from, address to, uint256 value) private onlyPayloadSize(2 * 32) {
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
