// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice Chainlink's `AggregatorV3Interface`: what a price feed (or its proxy) answers. The gateway reads
/// `latestRoundData` and `decimals` of such feeds to quote fiat-priced orders.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function version() external view returns (uint256);

    function getRoundData(
        uint80 roundId
    ) external view returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// @notice A price feed for tests whose every field the test sets: the answer, when it was updated, the round id
/// and the decimals. Answers may be zero or negative and `updatedAt` any time, so a reader's checks can be tried.
contract MockAggregatorV3 is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    /// @notice A round was set (by {setAnswer} or {setRound}).
    event MockAggregatorV3RoundSet(uint80 indexed roundId, int256 answer, uint256 updatedAt);

    /// @notice `getRoundData` asked for a round that was never set.
    error MockAggregatorV3NoRound(uint80 roundId);

    uint8 private _decimals;
    string private _description;
    uint80 private _latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        _decimals = decimals_;
        _description = description_;
        if (initialAnswer != 0) _setRound(1, initialAnswer, block.timestamp);
    }

    /// @notice Starts the next round with `answer`, updated now.
    /// Emits a {MockAggregatorV3RoundSet} event.
    function setAnswer(int256 answer) external {
        _setRound(_latestRound + 1, answer, block.timestamp);
    }

    /// @notice Makes `roundId` the latest round with `answer` and `updatedAt` as given (any values, for tests).
    /// Emits a {MockAggregatorV3RoundSet} event.
    function setRound(uint80 roundId, int256 answer, uint256 updatedAt) external {
        _setRound(roundId, answer, updatedAt);
    }

    /// @notice Changes the decimals the feed reports (a proxy moved to an aggregator with other decimals).
    function setDecimals(uint8 decimals_) external {
        _decimals = decimals_;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 4;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        if (r.updatedAt == 0 && r.answer == 0) revert MockAggregatorV3NoRound(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Before any round was set this answers all zeros, as a fresh aggregator would.
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[_latestRound];
        return (_latestRound, r.answer, r.startedAt, r.updatedAt, _latestRound);
    }

    function _setRound(uint80 roundId, int256 answer, uint256 updatedAt) private {
        _rounds[roundId] = Round({answer: answer, startedAt: updatedAt, updatedAt: updatedAt});
        _latestRound = roundId;
        emit MockAggregatorV3RoundSet(roundId, answer, updatedAt);
    }
}
