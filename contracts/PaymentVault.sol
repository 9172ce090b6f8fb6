// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IPaymentVault} from "./interfaces/IPaymentVault.sol";
import {DepositAddressCode} from "./libraries/DepositAddressCode.sol";
import {TokenCalls} from "./libraries/TokenCalls.sol";

/**
 * @title PaymentVault
 * @notice The on-chain half of the payment gateway, in one contract so that a sweep costs one call:
 *
 * 1. **Deposit-address factory.** Every merchant has CREATE2 deposit addresses whose address is a pure
 *    function of (this vault, merchant id, kind, key) — see {depositSalt} and {predictDepositAddress}.
 *    The code at such an address ({DepositAddressCode}) obeys only this vault, so funds sent to it before
 *    it is deployed are safe: whoever deploys it, through this vault, deploys the same code.
 * 2. **Sweeper.** {sweep} moves one token (or the native coin) from many deposit addresses into the vault,
 *    deploying each address on its first sweep, and credits each merchant with what actually arrived
 *    (measured by the vault's balance change, so fee-on-transfer tokens are credited correctly).
 *    A deposit address whose transfer fails (a blocklisting token) is skipped with {SweepSkipped}.
 * 3. **Ledger.** A balance per merchant and token, and beside it the platform fee accrued from that
 *    merchant, deducted at credit time at the merchant's rate (capped at {MAX_FEE_BPS}).
 * 4. **Payouts.** Refunds, user withdrawals and settlements leave a merchant's balance only with the
 *    merchant's authorisation: a call from its signer, or an EIP-712 {Payout} signed by it and relayed by
 *    anyone. A payout id is paid at most once.
 *
 * Roles: `DEFAULT_ADMIN_ROLE` grants roles and sets the fee recipient; `MERCHANT_ADMIN_ROLE` registers
 * merchants, sets fees and the token allowlist; `OPERATOR_ROLE` sweeps and deploys deposit addresses;
 * `PAUSER_ROLE` pauses sweeps, payouts, fee claims and rescues. No role can move a merchant's balance
 * or change a merchant's signer.
 */
contract PaymentVault is IPaymentVault, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using TokenCalls for address;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant MERCHANT_ADMIN_ROLE = keccak256("MERCHANT_ADMIN_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The highest platform fee: 5%.
    uint16 public constant MAX_FEE_BPS = 500;

    /// @notice The most tokens that can ever be allowlisted (bounds the loop in {setMerchantFee}).
    uint256 public constant MAX_TOKENS = 64;

    /**
     * @notice Set on a {sweep} entry (bit 191, the top bit of the kind byte; never part of a salt) to deploy
     * the deposit address before sweeping it.
     * @dev The operator knows which addresses it has deployed ({DepositAddressDeployed}); trusting it saves
     * the 2,600-gas cold code-size check on every sweep. A wrong flag moves nothing: an entry flagged on an
     * address that already has code makes CREATE2 fail (the sweep reverts and costs the operator the gas);
     * an unflagged entry on an address without code sweeps nothing (the credit is measured by balance).
     */
    uint256 public constant DEPLOY_FLAG = 1 << 191;

    uint256 private constant TOKEN_ALLOWED = 1;
    uint256 private constant TOKEN_PAUSED = 2;

    bytes32 public constant PAYOUT_TYPEHASH = keccak256(
        "Payout(uint64 merchantId,uint8 kind,address token,address to,uint256 amount,uint256 payoutId,uint64 deadline)"
    );

    /**
     * @notice Width of each merchant's payout-id window.
     * @dev Replay protection is a sliding window kept in the merchant's own slot (as in IPsec anti-replay),
     * so a payout writes a slot it already read instead of a fresh mapping slot. Ids below
     * `payoutBase` are spent; ids in the window may be paid in any order; paying an id at or above
     * `payoutBase + PAYOUT_WINDOW` moves the window up and spends, unpaid, every id it leaves below.
     * The gateway numbers each merchant's payouts 1, 2, 3, ... and keeps fewer than this many in flight.
     */
    uint256 public constant PAYOUT_WINDOW = 40;

    /// @notice keccak256 of every deposit address's creation code.
    bytes32 public immutable DEPOSIT_INIT_CODE_HASH;

    /**
     * @dev A merchant's funds in one token, in one slot so that a credit is one SLOAD and one SSTORE:
     * the balance, the platform fee accrued from it, and a copy of the merchant's fee rate (`feeBps + 1`;
     * 0 = not copied yet) so that a sweep needs no second read of the merchant's configuration.
     * {setMerchantFee} rewrites the copy in every account of the merchant that has one.
     */
    struct Account {
        uint128 balance;
        uint112 fees;
        uint16 feeTag;
    }

    mapping(uint64 merchantId => Merchant) private _merchants;
    mapping(uint64 merchantId => mapping(address token => Account)) private _accounts;
    /// @dev Per token: {TOKEN_ALLOWED}, and {TOKEN_PAUSED} mirroring {paused} so that a sweep reads one slot.
    mapping(address token => uint256) private _tokenState;
    /// @dev Every token ever allowlisted, so {setMerchantFee} can reach every account that holds a fee copy.
    address[] private _knownTokens;
    address private _feeRecipient;
    /// @dev Open only while {sweep} moves the native coin, for {receive}.
    bool private transient _sweepingNative;

    /**
     * @param admin receives `DEFAULT_ADMIN_ROLE`, `MERCHANT_ADMIN_ROLE` and `PAUSER_ROLE`
     * @param operator receives `OPERATOR_ROLE`
     * @param feeRecipient_ receives claimed platform fees
     */
    constructor(address admin, address operator, address feeRecipient_) EIP712("PaymentVault", "1") {
        if (admin == address(0)) revert VaultZeroAddress("admin");
        if (operator == address(0)) revert VaultZeroAddress("operator");
        if (feeRecipient_ == address(0)) revert VaultZeroAddress("feeRecipient");
        DEPOSIT_INIT_CODE_HASH = keccak256(DepositAddressCode.initCode(address(this)));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MERCHANT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        _feeRecipient = feeRecipient_;
        emit FeeRecipientChanged(address(0), feeRecipient_);
    }

    /**
     * @notice Accepts the native coin only during a native-coin sweep.
     * @dev Anything else is refused rather than kept unattributed: payers pay deposit addresses, and a
     * payout or rescue aimed at the vault itself fails instead of stranding the coin.
     */
    receive() external payable {
        if (!_sweepingNative) revert VaultDirectNativeDeposit(msg.sender);
    }

    // ============================================================ merchants and settings

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller has `MERCHANT_ADMIN_ROLE`; `merchantId` is new and non-zero; `signer` is
     * non-zero; `feeBps <= MAX_FEE_BPS`. Emits {MerchantRegistered}.
     */
    function registerMerchant(uint64 merchantId, address signer, uint16 feeBps)
        external
        onlyRole(MERCHANT_ADMIN_ROLE)
    {
        if (merchantId == 0) revert VaultInvalidMerchantId();
        if (_merchants[merchantId].signer != address(0)) revert VaultMerchantExists(merchantId);
        if (signer == address(0)) revert VaultZeroAddress("signer");
        _requireFeeWithinCap(feeBps);
        _merchants[merchantId] = Merchant({signer: signer, feeBps: feeBps, payoutBase: 0, payoutBits: 0});
        emit MerchantRegistered(merchantId, signer, feeBps);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Applies to credits from the next sweep on. Requirements: caller has `MERCHANT_ADMIN_ROLE`; the
     * merchant exists; `feeBps <= MAX_FEE_BPS`. Emits {MerchantFeeChanged}.
     */
    function setMerchantFee(uint64 merchantId, uint16 feeBps) external onlyRole(MERCHANT_ADMIN_ROLE) {
        Merchant storage m = _requireMerchant(merchantId);
        _requireFeeWithinCap(feeBps);
        uint16 previous = m.feeBps;
        m.feeBps = feeBps;
        mapping(address => Account) storage accounts = _accounts[merchantId];
        for (uint256 i; i < _knownTokens.length; ++i) {
            Account storage a = accounts[_knownTokens[i]];
            if (a.feeTag != 0) a.feeTag = feeBps + 1;
        }
        emit MerchantFeeChanged(merchantId, previous, feeBps);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller is the merchant's current signer; `newSigner` is non-zero.
     * Emits {MerchantSignerChanged}.
     */
    function setMerchantSigner(uint64 merchantId, address newSigner) external {
        Merchant storage m = _requireSigner(merchantId);
        if (newSigner == address(0)) revert VaultZeroAddress("newSigner");
        address previous = m.signer;
        m.signer = newSigner;
        emit MerchantSignerChanged(merchantId, previous, newSigner);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Removing a token stops its sweeps; balances already credited stay payable.
     * Requirements: caller has `MERCHANT_ADMIN_ROLE`; fewer than {MAX_TOKENS} distinct tokens were ever
     * allowed. Emits {TokenAllowed}.
     */
    function setTokenAllowed(address token, bool allowed) external onlyRole(MERCHANT_ADMIN_ROLE) {
        if (allowed && !_isKnownToken(token)) {
            if (_knownTokens.length == MAX_TOKENS) revert VaultTooManyTokens(MAX_TOKENS);
            _knownTokens.push(token);
        }
        // A token's paused bit is kept only while it is allowed: {_mirrorPause} reaches only known tokens.
        _tokenState[token] = allowed ? TOKEN_ALLOWED | (paused() ? TOKEN_PAUSED : 0) : 0;
        emit TokenAllowed(token, allowed);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller has `DEFAULT_ADMIN_ROLE`; `recipient` is non-zero. Emits {FeeRecipientChanged}.
     */
    function setFeeRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recipient == address(0)) revert VaultZeroAddress("feeRecipient");
        address previous = _feeRecipient;
        _feeRecipient = recipient;
        emit FeeRecipientChanged(previous, recipient);
    }

    /// @notice Stops sweeps, payouts, fee claims and rescues. Requirements: caller has `PAUSER_ROLE`.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _mirrorPause(TOKEN_PAUSED);
    }

    /// @notice Resumes what {pause} stopped. Requirements: caller has `PAUSER_ROLE`.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _mirrorPause(0);
    }

    // ============================================================ deposit addresses and sweeps

    /**
     * @inheritdoc IPaymentVault
     * @dev `entries` are {depositSalt} values, each with {DEPLOY_FLAG} set if its address has no code yet.
     * Consecutive entries of one merchant form one credit (sort them by merchant for the cheapest sweep).
     * An address with a zero balance is passed over; one whose transfer fails is skipped with
     * {SweepSkipped}. Each merchant is credited with the vault's balance change over its entries, less its
     * fee, so a fee-on-transfer token is credited with what actually arrived.
     *
     * Requirements: caller has `OPERATOR_ROLE`; not paused; `token` is allowlisted (`address(0)`, the native
     * coin, too); a flagged entry names a valid kind; a group that receives anything belongs to a registered
     * merchant (checked on the merchant's first credit in a token, when its fee rate is copied).
     *
     * Emits {DepositAddressDeployed} per flagged entry, {NativeSwept} per native-coin address swept,
     * {SweepSkipped} per failed address and {Swept} per merchant group that received anything.
     */
    function sweep(address token, uint256[] calldata entries) external onlyRole(OPERATOR_ROLE) nonReentrant {
        uint256 state = _tokenState[token];
        if (state & TOKEN_PAUSED != 0) revert EnforcedPause();
        if (state & TOKEN_ALLOWED == 0) revert VaultTokenNotAllowed(token);
        if (token == address(0)) _sweepingNative = true;
        uint256 n = entries.length;
        uint256 balance = _selfBalance(token);
        uint256 i;
        while (i < n) {
            // One group: the run of consecutive entries that share a merchant id.
            uint64 merchantId = uint64(entries[i] >> 192);
            do {
                _sweepOne(token, _deployIfFlagged(entries[i]));
                unchecked {
                    ++i;
                }
            } while (i < n && uint64(entries[i] >> 192) == merchantId);
            uint256 balanceAfter = _selfBalance(token);
            if (balanceAfter > balance) _credit(merchantId, token, balanceAfter - balance);
            balance = balanceAfter;
        }
        if (token == address(0)) _sweepingNative = false;
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Deploying an address makes senders with a fixed 21,000 gas limit unable to pay it, so only the
     * operator may deploy ahead of a sweep. Already deployed addresses are passed over.
     * Requirements: caller has `OPERATOR_ROLE`; valid salts. Emits {DepositAddressDeployed} per new address.
     */
    function deployDepositAddresses(uint256[] calldata salts) external onlyRole(OPERATOR_ROLE) {
        for (uint256 i; i < salts.length; ++i) {
            _requireMerchant(uint64(salts[i] >> 192));
            _deployIfNeeded(salts[i]);
        }
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev For tokens a payer sent by mistake: the merchant who owns the address decides where they go.
     * Requirements: not paused; caller is the signer of the salt's merchant; `token` is not allowlisted
     * (allowlisted tokens are swept); `to` non-zero. Emits {DepositTokenRescued}.
     */
    function rescueDepositToken(uint256 salt, address token, address to, uint256 amount)
        external
        whenNotPaused
        nonReentrant
    {
        uint64 merchantId = uint64(salt >> 192);
        _requireSigner(merchantId);
        if (_tokenState[token] & TOKEN_ALLOWED != 0) revert VaultTokenIsAllowed(token);
        _requireRecipient(to);
        // A call to an account without code "succeeds": refuse it rather than report a rescue that moved nothing.
        if (token != address(0) && token.code.length == 0) revert VaultTokenTransferFailed(token, to, amount);
        address depositAddress = _deployIfNeeded(salt);
        emit DepositTokenRescued(merchantId, depositAddress, token, to, amount);
        bool ok = token == address(0)
            ? TokenCalls.forward(depositAddress, to, amount, "")
            : TokenCalls.forwardTransfer(depositAddress, token, to, amount);
        if (!ok) revert VaultTokenTransferFailed(token, to, amount);
    }

    // ============================================================ payouts and fees

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: not paused; `signature` is the merchant signer's EIP-712 signature of `p` (an EOA's
     * ECDSA signature or an ERC-1271 contract's approval); `p.deadline` not passed; `p.payoutId` unused;
     * `p.to` non-zero; `0 < p.amount <= balance`. Emits {PayoutExecuted}.
     */
    function payout(Payout calldata p, bytes calldata signature) external whenNotPaused nonReentrant {
        Merchant storage m = _requireMerchant(p.merchantId);
        address signer = m.signer;
        bytes32 digest = _hashPayout(p);
        // ECDSA first: it needs no code-size check of the signer (2,600 gas); contracts sign by ERC-1271.
        (address recovered,,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recovered != signer && !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature)) {
            revert VaultInvalidSignature(p.merchantId);
        }
        _executePayout(m, p);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements as {payout}, with the caller being the merchant's signer instead of a signature.
     */
    function payoutByMerchant(Payout calldata p) external whenNotPaused nonReentrant {
        _executePayout(_requireSigner(p.merchantId), p);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller is the merchant's signer; `payoutId` unused. Emits {PayoutCancelled}.
     */
    function cancelPayout(uint64 merchantId, uint256 payoutId) external {
        Merchant storage m = _requireSigner(merchantId);
        _usePayoutId(m, merchantId, payoutId);
        emit PayoutCancelled(merchantId, payoutId);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Anyone may call: fees only ever go to the fee recipient. Requirements: not paused; the merchants
     * accrued a non-zero fee in `token` between them. Emits {FeesClaimed}.
     */
    function claimFees(address token, uint64[] calldata merchantIds) external whenNotPaused nonReentrant {
        uint256 total;
        for (uint256 i; i < merchantIds.length; ++i) {
            Account storage a = _accounts[merchantIds[i]][token];
            total += a.fees;
            a.fees = 0;
        }
        if (total == 0) revert VaultZeroAmount();
        address recipient = _feeRecipient;
        emit FeesClaimed(token, recipient, total);
        _send(token, recipient, total);
    }

    // ============================================================ views

    /// @inheritdoc IPaymentVault
    function predictDepositAddress(uint64 merchantId, DepositKind kind, uint256 key) external view returns (address) {
        return _depositAddress(depositSalt(merchantId, kind, key));
    }

    /// @inheritdoc IPaymentVault
    function depositSalt(uint64 merchantId, DepositKind kind, uint256 key) public pure returns (uint256) {
        if (merchantId == 0) revert VaultInvalidMerchantId();
        if (kind == DepositKind.None) revert VaultInvalidDepositKind(uint8(kind));
        if (key >> 184 != 0) revert VaultDepositKeyTooLarge(key);
        return (uint256(merchantId) << 192) | (uint256(kind) << 184) | key;
    }

    /// @inheritdoc IPaymentVault
    function accountOf(uint64 merchantId, address token)
        external
        view
        returns (uint256 balance, uint256 feesAccrued)
    {
        Account storage a = _accounts[merchantId][token];
        return (a.balance, a.fees);
    }

    /// @inheritdoc IPaymentVault
    function merchant(uint64 merchantId) external view returns (Merchant memory) {
        return _merchants[merchantId];
    }

    /// @inheritdoc IPaymentVault
    function isPayoutIdUsed(uint64 merchantId, uint256 payoutId) external view returns (bool) {
        // Ids too large to ever be paid ({VaultPayoutIdTooLarge}) are reported as used: none can pay.
        if (payoutId >= type(uint40).max - PAYOUT_WINDOW) return true;
        Merchant storage m = _merchants[merchantId];
        uint256 base = m.payoutBase;
        if (payoutId < base) return true;
        if (payoutId >= base + PAYOUT_WINDOW) return false;
        return (uint256(m.payoutBits) >> (payoutId - base)) & 1 != 0;
    }

    /// @inheritdoc IPaymentVault
    function isTokenAllowed(address token) external view returns (bool) {
        return _tokenState[token] & TOKEN_ALLOWED != 0;
    }

    /// @notice The account that receives claimed platform fees.
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IPaymentVault
    function hashPayout(Payout calldata p) external view returns (bytes32) {
        return _hashPayout(p);
    }

    // ============================================================ internals

    function _executePayout(Merchant storage m, Payout calldata p) private {
        // validate
        if (p.deadline < block.timestamp) revert VaultPayoutExpired(p.payoutId, p.deadline, block.timestamp);
        _requireRecipient(p.to);
        if (p.amount == 0) revert VaultZeroAmount();
        Account storage a = _accounts[p.merchantId][p.token];
        uint256 balance = a.balance;
        if (balance < p.amount) revert VaultInsufficientBalance(p.merchantId, p.token, balance, p.amount);
        // write
        _usePayoutId(m, p.merchantId, p.payoutId);
        unchecked {
            a.balance = uint128(balance - p.amount); // balance >= amount, and balance fits 128 bits
        }
        // emit
        emit PayoutExecuted(p.merchantId, p.payoutId, p.kind, p.token, p.to, p.amount);
        // call out
        _send(p.token, p.to, p.amount);
    }

    /// @dev Marks `payoutId` spent in the merchant's window (see {PAYOUT_WINDOW}).
    function _usePayoutId(Merchant storage m, uint64 merchantId, uint256 payoutId) private {
        if (payoutId >= type(uint40).max - PAYOUT_WINDOW) revert VaultPayoutIdTooLarge(payoutId);
        uint256 base = m.payoutBase;
        uint256 bits = m.payoutBits;
        if (payoutId < base) revert VaultPayoutIdUsed(merchantId, payoutId);
        if (payoutId >= base + PAYOUT_WINDOW) {
            // Slide up so that payoutId is the window's highest id; the ids left below are spent.
            uint256 shift = payoutId - base - (PAYOUT_WINDOW - 1);
            bits = shift >= PAYOUT_WINDOW ? 0 : bits >> shift;
            base += shift;
        }
        uint256 bit = 1 << (payoutId - base);
        if (bits & bit != 0) revert VaultPayoutIdUsed(merchantId, payoutId);
        bits |= bit;
        // Start the window at the lowest unspent id.
        while (bits & 1 != 0) {
            bits >>= 1;
            ++base;
        }
        m.payoutBase = uint40(base);
        m.payoutBits = uint40(bits);
    }

    function _credit(uint64 merchantId, address token, uint256 received) private {
        Account storage a = _accounts[merchantId][token];
        uint256 feeTag = a.feeTag;
        if (feeTag == 0) feeTag = uint256(_requireMerchant(merchantId).feeBps) + 1;
        uint256 fee = (received * (feeTag - 1)) / 10_000;
        uint256 newBalance = a.balance + (received - fee);
        uint256 newFees = a.fees + fee;
        if (newBalance >> 128 != 0 || newFees >> 112 != 0) revert VaultAmountOverflow(received);
        a.balance = uint128(newBalance);
        a.fees = uint112(newFees);
        a.feeTag = uint16(feeTag);
        emit Swept(merchantId, token, received, fee);
    }

    /// @dev Sweeps one address's whole balance of `token` into the vault. Returns whether anything was moved.
    function _sweepOne(address token, address depositAddress) private {
        if (token == address(0)) {
            uint256 amount = depositAddress.balance;
            if (amount == 0) return;
            // An address without code (entry not flagged) accepts the command and moves nothing: check.
            if (TokenCalls.forward(depositAddress, address(this), amount, "") && depositAddress.balance == 0) {
                emit NativeSwept(depositAddress, amount);
            } else {
                emit SweepSkipped(token, depositAddress, amount);
            }
            return;
        }
        uint256 balance = token.balanceOfAccount(depositAddress);
        if (balance == 0) return;
        if (!TokenCalls.forwardTransfer(depositAddress, token, address(this), balance)) {
            emit SweepSkipped(token, depositAddress, balance);
        }
    }

    /// @dev The entry's address, deployed first if the entry carries {DEPLOY_FLAG}.
    function _deployIfFlagged(uint256 entry) private returns (address) {
        if (entry & DEPLOY_FLAG == 0) return _depositAddress(entry);
        return _deploy(entry ^ DEPLOY_FLAG);
    }

    /// @dev The salt's address, deployed if it has no code yet.
    function _deployIfNeeded(uint256 salt) private returns (address depositAddress) {
        depositAddress = _depositAddress(salt);
        if (depositAddress.code.length == 0) _deploy(salt);
    }

    function _deploy(uint256 salt) private returns (address deployed) {
        uint8 kind = uint8(salt >> 184);
        if (kind != uint8(DepositKind.Payment) && kind != uint8(DepositKind.Recharge)) {
            revert VaultInvalidDepositKind(kind);
        }
        bytes memory code = DepositAddressCode.initCode(address(this));
        assembly ("memory-safe") {
            deployed := create2(0, add(code, 0x20), mload(code), salt)
        }
        if (deployed == address(0)) revert VaultDeployFailed(salt);
        emit DepositAddressDeployed(deployed, salt);
    }

    /// @dev CREATE2 address: keccak256(0xff ++ this ++ salt ++ DEPOSIT_INIT_CODE_HASH)[12:].
    function _depositAddress(uint256 salt) private view returns (address predicted) {
        bytes32 codeHash = DEPOSIT_INIT_CODE_HASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40) // scratch above the free pointer; not allocated, not kept
            mstore(add(ptr, 0x40), codeHash)
            mstore(add(ptr, 0x20), salt)
            mstore(ptr, address()) // the address fills bytes 12..31 of this word
            mstore8(add(ptr, 0x0b), 0xff)
            predicted := and(keccak256(add(ptr, 0x0b), 85), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    function _selfBalance(address token) private view returns (uint256) {
        return token == address(0) ? address(this).balance : token.balanceOfAccount(address(this));
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert VaultNativeTransferFailed(to, amount);
        } else if (!SafeERC20.trySafeTransfer(IERC20(token), to, amount)) {
            revert VaultTokenTransferFailed(token, to, amount);
        }
    }

    function _hashPayout(Payout calldata p) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(PAYOUT_TYPEHASH, p.merchantId, p.kind, p.token, p.to, p.amount, p.payoutId, p.deadline)
            )
        );
    }

    function _requireMerchant(uint64 merchantId) private view returns (Merchant storage m) {
        m = _merchants[merchantId];
        if (m.signer == address(0)) revert VaultUnknownMerchant(merchantId);
    }

    function _requireSigner(uint64 merchantId) private view returns (Merchant storage m) {
        m = _requireMerchant(merchantId);
        if (msg.sender != m.signer) revert VaultNotMerchantSigner(merchantId, msg.sender);
    }

    function _mirrorPause(uint256 pausedBit) private {
        for (uint256 i; i < _knownTokens.length; ++i) {
            address token = _knownTokens[i];
            _tokenState[token] = (_tokenState[token] & TOKEN_ALLOWED) | pausedBit;
        }
    }

    function _isKnownToken(address token) private view returns (bool) {
        for (uint256 i; i < _knownTokens.length; ++i) {
            if (_knownTokens[i] == token) return true;
        }
        return false;
    }

    /// @dev Funds leaving the vault go to a real recipient: not nowhere, and not back into the vault unattributed.
    function _requireRecipient(address to) private view {
        if (to == address(0)) revert VaultZeroAddress("to");
        if (to == address(this)) revert VaultRecipientIsVault();
    }

    function _requireFeeWithinCap(uint16 feeBps) private pure {
        if (feeBps > MAX_FEE_BPS) revert VaultFeeTooHigh(feeBps, MAX_FEE_BPS);
    }
}
