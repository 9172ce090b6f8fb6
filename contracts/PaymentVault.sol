// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
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
 *    deploying each address on its first sweep, and credits each merchant with what it moved (checked
 *    against what arrived), or, for fee-on-transfer tokens, with the measured balance change. An address
 *    that cannot be swept (a blocklisting token) is skipped with {SweepSkipped}; nothing a merchant or a
 *    payer can do makes a batch revert.
 * 3. **Ledger.** A balance per merchant and token, and beside it the platform fee accrued from that
 *    merchant, deducted at credit time at the merchant's rate (capped at {MAX_FEE_BPS}).
 * 4. **Payouts.** Refunds, user withdrawals and settlements leave a merchant's balance only with the
 *    merchant's authorisation: a call from its signer, or an EIP-712 {Payout} or {PayoutBatch} signed by
 *    it and relayed by anyone. A payout id is paid at most once, in any order, and no one can make an
 *    unpaid id unpayable but the signer (by cancelling it).
 *
 * Roles: `DEFAULT_ADMIN_ROLE` grants roles, sets the fee recipient and recovers tokens that were never
 * allowlisted; `MERCHANT_ADMIN_ROLE` registers merchants, sets fees and the token allowlist; `OPERATOR_ROLE`
 * sweeps and deploys deposit addresses; `PAUSER_ROLE` pauses sweeps, payouts, fee claims and rescues. No
 * role can move a merchant's balance or change a merchant's signer.
 */
contract PaymentVault is IPaymentVault, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using TokenCalls for address;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant MERCHANT_ADMIN_ROLE = keccak256("MERCHANT_ADMIN_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The highest platform fee: 5%.
    uint16 public constant MAX_FEE_BPS = 500;

    /// @notice The most tokens allowlisted at one time (bounds the loops in {setMerchantFee} and {pause}).
    uint256 public constant MAX_TOKENS = 64;

    /**
     * @notice Set on a {sweep} entry (bit 191, the top bit of the kind byte; never part of a salt) to deploy
     * the deposit address before sweeping it.
     * @dev Only the operator deploys deposit addresses ({sweep}, {deployDepositAddresses}; a merchant's
     * {rescueDepositToken} needs a deployed address), so the operator knows which addresses have code and
     * the vault trusts the flag instead of paying a 2,600-gas cold code-size check on every first sweep. A
     * flag on an address with code makes CREATE2 fail and the sweep revert ({VaultDeployFailed}): only the
     * operator's own mistake can do that. An unflagged address without code moves nothing and is reported
     * with {SweepSkipped}.
     */
    uint256 public constant DEPLOY_FLAG = 1 << 191;

    uint256 private constant TOKEN_ALLOWED = 1;
    uint256 private constant TOKEN_PAUSED = 2;
    uint256 private constant TOKEN_MEASURED = 4;
    /// @dev Set when a token is first allowlisted and never cleared: merchants may hold balances in it.
    uint256 private constant TOKEN_KNOWN = 8;
    /// @dev Bits 16..31 of a token's state: its allowlist epoch, 1 + the times it was (re-)allowlisted, mod 2**16.
    uint256 private constant EPOCH_SHIFT = 16;

    uint256 private constant MAX_BALANCE = type(uint128).max;
    uint256 private constant MAX_FEES = type(uint96).max;

    bytes32 public constant PAYOUT_TYPEHASH = keccak256(
        "Payout(uint64 merchantId,uint8 kind,address token,address to,uint256 amount,uint256 payoutId,uint64 deadline)"
    );
    bytes32 public constant PAYOUT_ITEM_TYPEHASH =
        keccak256("PayoutItem(uint8 kind,address token,address to,uint256 amount,uint256 payoutId)");
    bytes32 public constant PAYOUT_BATCH_TYPEHASH = keccak256(
        "PayoutBatch(uint64 merchantId,uint64 deadline,PayoutItem[] payouts)"
        "PayoutItem(uint8 kind,address token,address to,uint256 amount,uint256 payoutId)"
    );

    /// @notice keccak256 of every deposit address's creation code.
    bytes32 public immutable DEPOSIT_INIT_CODE_HASH;

    /**
     * @dev A merchant's funds in one token, in one slot so that a credit is one SLOAD and one SSTORE: the
     * balance, the platform fee accrued from it, and a copy of the merchant's fee rate taken in the token's
     * allowlist epoch `epoch` (0 = never), so that a sweep needs no second read of the merchant's
     * configuration. {setMerchantFee} rewrites the copy in every allowlisted token; a token allowlisted again
     * after a removal starts a new epoch, so copies it missed meanwhile are taken afresh.
     */
    struct Account {
        uint128 balance;
        uint96 fees;
        uint16 feeBps;
        uint16 epoch;
    }

    mapping(uint64 merchantId => Merchant) private _merchants;
    mapping(uint64 merchantId => mapping(address token => Account)) private _accounts;
    /// @dev Used payout ids outside the merchant's slot range: bit `id % 256` of word `id / 256`.
    mapping(uint64 merchantId => mapping(uint256 word => uint256 bits)) private _payoutIdWords;
    /// @dev Per token: flags ({TOKEN_ALLOWED}, {TOKEN_PAUSED} mirroring {paused}, ...) and the allowlist epoch.
    mapping(address token => uint256) private _tokenState;
    /// @dev The tokens allowlisted now, so that {setMerchantFee} and {pause} reach each of them.
    address[] private _allowedTokens;
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
        _merchants[merchantId] = Merchant({signer: signer, feeBps: feeBps, payoutRange: 0, payoutBits: 0});
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
        for (uint256 i; i < _allowedTokens.length; ++i) {
            address token = _allowedTokens[i];
            Account storage a = accounts[token];
            // Copies of an older epoch are taken afresh on the next credit anyway.
            if (a.epoch == _epochOf(_tokenState[token])) a.feeBps = feeBps;
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
     * @dev Removing a token stops its sweeps; balances already credited stay payable. Allowing it again
     * starts a new epoch of its accounts' fee copies. Requirements: caller has `MERCHANT_ADMIN_ROLE`; fewer
     * than {MAX_TOKENS} tokens are allowlisted when one is added. Emits {TokenAllowed}.
     */
    function setTokenAllowed(address token, bool allowed) external onlyRole(MERCHANT_ADMIN_ROLE) {
        uint256 state = _tokenState[token];
        if (allowed && state & TOKEN_ALLOWED == 0) {
            if (_allowedTokens.length == MAX_TOKENS) revert VaultTooManyTokens(MAX_TOKENS);
            _allowedTokens.push(token);
            uint256 epoch = (_epochOf(state) + 1) & 0xffff;
            if (epoch == 0) epoch = 1; // 0 marks an account that never took a fee copy
            state = (state & TOKEN_MEASURED) | TOKEN_ALLOWED | TOKEN_KNOWN | (paused() ? TOKEN_PAUSED : 0)
                | (epoch << EPOCH_SHIFT);
        } else if (!allowed && state & TOKEN_ALLOWED != 0) {
            uint256 last = _allowedTokens.length - 1;
            for (uint256 i; i < last; ++i) {
                if (_allowedTokens[i] == token) {
                    _allowedTokens[i] = _allowedTokens[last];
                    break;
                }
            }
            _allowedTokens.pop();
            state &= ~(TOKEN_ALLOWED | TOKEN_PAUSED);
        }
        _tokenState[token] = state;
        emit TokenAllowed(token, allowed);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev By default a sweep credits each merchant with the amounts it moved and checks once, at the end,
     * that at least their sum arrived ({VaultSweepShortfall} otherwise). A token that takes a fee on transfer
     * is marked measured: each merchant group is then credited with the vault's balance change over it (one
     * more `balanceOf` per group). Requirements: caller has `MERCHANT_ADMIN_ROLE`. Emits {TokenMeasured}.
     */
    function setTokenMeasured(address token, bool measured) external onlyRole(MERCHANT_ADMIN_ROLE) {
        uint256 state = _tokenState[token];
        _tokenState[token] = measured ? state | TOKEN_MEASURED : state & ~TOKEN_MEASURED;
        emit TokenMeasured(token, measured);
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

    /**
     * @inheritdoc IPaymentVault
     * @dev For tokens (or native coin) sent straight to the vault that no merchant can hold: a token that was
     * never allowlisted was never credited, so all of the vault's balance of it is surplus. A token that was
     * allowlisted cannot be recovered (the vault keeps no total of what it owes in it, see docs/contracts.md).
     * Requirements: caller has `DEFAULT_ADMIN_ROLE`; `token` was never allowlisted; `to` is a real
     * recipient; the balance is non-zero. Emits {VaultTokenRecovered}.
     */
    function recoverToken(address token, address to) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (_tokenState[token] & TOKEN_KNOWN != 0) revert VaultTokenWasAllowed(token);
        _requireRecipient(to);
        uint256 amount = _selfBalance(token);
        if (amount == 0) revert VaultZeroAmount();
        emit VaultTokenRecovered(token, to, amount);
        _send(token, to, amount);
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
     * @dev `entries` are {depositSalt} values, each with {DEPLOY_FLAG} set if its address has no code yet. `amounts` is empty (sweep each address's whole balance, read here) or holds one amount
     * per entry (0 = the whole balance): the operator reads balances anyway, and passing them saves a
     * `balanceOf` per address. Consecutive entries of one merchant form one credit (sort them by merchant
     * for the cheapest sweep). An address with nothing to move is passed over; one that cannot be swept (the
     * transfer fails, it has no code, or the credit would not fit the ledger) is skipped with {SweepSkipped}
     * and keeps its funds.
     *
     * Credits: each merchant group is credited with the amounts it moved, less its fee, and the sweep checks
     * at the end that at least their sum arrived; for a measured token ({setTokenMeasured}) each group is
     * credited with the vault's balance change over it instead.
     *
     * Requirements: caller has `OPERATOR_ROLE`; not paused; `token` is allowlisted (`address(0)`, the native
     * coin, too); `amounts` is empty or as long as `entries`; each merchant in `entries` is registered.
     *
     * Emits {DepositAddressDeployed} per address deployed, {NativeSwept} per native-coin address swept,
     * {SweepSkipped} per address skipped and {Swept} per merchant group that received anything.
     */
    function sweep(address token, uint256[] calldata entries, uint256[] calldata amounts)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
    {
        uint256 state = _tokenState[token];
        if (state & TOKEN_PAUSED != 0) revert EnforcedPause();
        if (state & TOKEN_ALLOWED == 0) revert VaultTokenNotAllowed(token);
        if (amounts.length != 0 && amounts.length != entries.length) {
            revert VaultLengthMismatch(entries.length, amounts.length);
        }
        if (token == address(0)) _sweepingNative = true;
        uint256 startBalance = _selfBalance(token);
        SweepContext memory ctx =
            SweepContext({token: token, merchantId: 0, state: state, balance: startBalance});
        uint256 movedTotal;
        for (uint256 i; i < entries.length;) {
            uint256 moved;
            (i, moved) = _sweepAndCredit(ctx, entries, amounts, i);
            // Each group moves at most 2**128 - 1 (its room) and there are fewer groups than 2**64: no overflow.
            unchecked {
                movedTotal += moved;
            }
        }
        if (state & TOKEN_MEASURED == 0 && movedTotal != 0) {
            uint256 arrived = _selfBalance(token) - startBalance;
            if (arrived < movedTotal) revert VaultSweepShortfall(token, movedTotal, arrived);
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
     * @dev For tokens a payer sent by mistake: the merchant who owns the address decides where they go. The
     * address must have code already: only the operator deploys deposit addresses (a sweep or
     * {deployDepositAddresses}), so that a flagged sweep entry is never found deployed by someone else (which
     * would make its CREATE2 fail and the batch revert). Requirements: not paused; caller is the signer of
     * the salt's merchant; the address is deployed; `token` is not allowlisted (allowlisted tokens are
     * swept); `to` non-zero. Emits {DepositTokenRescued}.
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
        address depositAddress = _depositAddress(salt);
        if (depositAddress.code.length == 0) revert VaultDepositAddressNotDeployed(salt);
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
     * `p.to` non-zero and not the vault; `0 < p.amount <= balance`; the transfer succeeds.
     * Emits {PayoutExecuted}.
     */
    function payout(Payout calldata p, bytes calldata signature) external whenNotPaused nonReentrant {
        _revertIf(_authorise(p.merchantId, p.deadline, p.payoutId, _hashPayout(p), signature));
        _pay(p.merchantId, p.kind, p.token, p.to, p.amount, p.payoutId, true);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements as {payout}, with the caller being the merchant's signer instead of a signature.
     */
    function payoutByMerchant(Payout calldata p) external whenNotPaused nonReentrant {
        _requireSigner(p.merchantId);
        if (p.deadline < block.timestamp) revert VaultPayoutExpired(p.payoutId, p.deadline, block.timestamp);
        _pay(p.merchantId, p.kind, p.token, p.to, p.amount, p.payoutId, true);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Each item is checked and paid on its own, as {payout} would: one that cannot be paid (id used,
     * balance short, recipient refusing) is reported with {PayoutSkipped} and keeps its id unused; the others
     * are paid. Requirements: not paused; `signature` is the merchant signer's EIP-712 signature of `batch`
     * (ECDSA or ERC-1271); `batch.deadline` not passed. Emits {PayoutExecuted} or {PayoutSkipped} per item.
     */
    function payoutBatch(PayoutBatch calldata batch, bytes calldata signature) external whenNotPaused nonReentrant {
        _revertIf(_authorise(batch.merchantId, batch.deadline, 0, _hashPayoutBatch(batch), signature));
        _payBatch(batch);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev For one relay transaction that carries many merchants' payouts: nothing one merchant's payout or
     * batch does (a bad signature, an expired deadline, a used id, a short balance, a refusing recipient)
     * makes it revert; each payout that is not paid is reported with {PayoutSkipped}. Requirements: not
     * paused. Emits {PayoutExecuted} or {PayoutSkipped} per payout.
     */
    function relayPayouts(SignedPayout[] calldata payouts, SignedPayoutBatch[] calldata batches)
        external
        whenNotPaused
        nonReentrant
    {
        for (uint256 i; i < payouts.length; ++i) {
            Payout calldata p = payouts[i].payout;
            bytes memory err =
                _authorise(p.merchantId, p.deadline, p.payoutId, _hashPayout(p), payouts[i].signature);
            if (err.length != 0) _skip(p.merchantId, p.payoutId, err);
            else _pay(p.merchantId, p.kind, p.token, p.to, p.amount, p.payoutId, false);
        }
        for (uint256 i; i < batches.length; ++i) {
            PayoutBatch calldata batch = batches[i].batch;
            bytes memory err =
                _authorise(batch.merchantId, batch.deadline, 0, _hashPayoutBatch(batch), batches[i].signature);
            if (err.length == 0) {
                _payBatch(batch);
            } else {
                for (uint256 k; k < batch.payouts.length; ++k) {
                    _skip(batch.merchantId, batch.payouts[k].payoutId, err);
                }
            }
        }
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller is the merchant's signer; `payoutId` unused. Emits {PayoutCancelled}.
     */
    function cancelPayout(uint64 merchantId, uint256 payoutId) external nonReentrant {
        Merchant storage m = _requireSigner(merchantId);
        if (!_usePayoutId(m, merchantId, payoutId)) revert VaultPayoutIdUsed(merchantId, payoutId);
        emit PayoutCancelled(merchantId, payoutId);
    }

    /**
     * @inheritdoc IPaymentVault
     * @dev Requirements: caller is the merchant's signer; every id unused (and none twice).
     * Emits {PayoutCancelled} per id.
     */
    function cancelPayouts(uint64 merchantId, uint256[] calldata payoutIds) external nonReentrant {
        Merchant storage m = _requireSigner(merchantId);
        for (uint256 i; i < payoutIds.length; ++i) {
            if (!_usePayoutId(m, merchantId, payoutIds[i])) revert VaultPayoutIdUsed(merchantId, payoutIds[i]);
            emit PayoutCancelled(merchantId, payoutIds[i]);
        }
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

    /**
     * @inheritdoc IPaymentVault
     * @dev An id in the merchant slot's range is looked up there, any other in the bitmap (see {_usePayoutId}).
     */
    function isPayoutIdUsed(uint64 merchantId, uint256 payoutId) external view returns (bool) {
        Merchant storage m = _merchants[merchantId];
        if (payoutId >> 6 == m.payoutRange) return (m.payoutBits >> (payoutId & 63)) & 1 != 0;
        return (_payoutIdWords[merchantId][payoutId >> 8] >> (payoutId & 255)) & 1 != 0;
    }

    /// @inheritdoc IPaymentVault
    function isTokenAllowed(address token) external view returns (bool) {
        return _tokenState[token] & TOKEN_ALLOWED != 0;
    }

    /// @inheritdoc IPaymentVault
    function isTokenMeasured(address token) external view returns (bool) {
        return _tokenState[token] & TOKEN_MEASURED != 0;
    }

    /// @notice The tokens allowlisted now.
    function allowedTokens() external view returns (address[] memory) {
        return _allowedTokens;
    }

    /// @notice The account that receives claimed platform fees.
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IPaymentVault
    function hashPayout(Payout calldata p) external view returns (bytes32) {
        return _hashPayout(p);
    }

    /// @inheritdoc IPaymentVault
    function hashPayoutBatch(PayoutBatch calldata batch) external view returns (bytes32) {
        return _hashPayoutBatch(batch);
    }

    // ============================================================ internals: payouts

    /**
     * @dev Whether the merchant's signer authorised `digest` before `deadline`: empty if so, else the
     * ABI-encoded error (`payoutId` for {VaultPayoutExpired}: the payout's, 0 for a batch). ECDSA first: it
     * needs no code-size check of the signer (2,600 gas); contracts sign by ERC-1271.
     */
    function _authorise(uint64 merchantId, uint64 deadline, uint256 payoutId, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bytes memory err)
    {
        address signer = _merchants[merchantId].signer;
        if (signer == address(0)) return abi.encodeWithSelector(VaultUnknownMerchant.selector, merchantId);
        if (deadline < block.timestamp) {
            return abi.encodeWithSelector(VaultPayoutExpired.selector, payoutId, deadline, block.timestamp);
        }
        (address recovered,,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recovered != signer && !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature)) {
            return abi.encodeWithSelector(VaultInvalidSignature.selector, merchantId);
        }
    }

    /**
     * @dev Pays the items of an authorised batch in order, each exactly as {_pay} with `strict` false would:
     * paid, or reported with {PayoutSkipped} leaving its id unused and its balance untouched. Only the common
     * item takes a path of its own: a real recipient and a non-zero amount that the balance covers, an unused
     * id in the range the merchant slot holds (see {_usePayoutId}), a transfer that succeeds. Any other item
     * goes through {_pay}, which finds the state as this loop left it (every change is written at once).
     *
     * Per item: the merchant slot and the account are read afresh (a warm SLOAD, 100 gas each; a callback
     * during the previous transfer may have changed them, e.g. {setMerchantSigner} or {setMerchantFee}, which
     * are not nonReentrant), the id's bit and the debit are written before the transfer (checks, effects,
     * interactions: a view read during the transfer sees the payout done), and the account's slot is computed
     * only when the token differs from the previous item's. The items are read straight from calldata: each
     * was checked by {_hashPayoutBatch} before the signature was (kind in range, clean addresses).
     *
     * The common item's checks, the ones {_pay} makes one by one, are one branch here: `to` neither zero nor
     * the vault, `amount` non-zero and within the balance (the account's bits 0..127), the id's range the one
     * the merchant slot holds (bits 176..191) and its bit there (192 + id % 64) clear. Then the bit is set
     * and the amount debited, both written before the transfer.
     */
    function _payBatch(PayoutBatch calldata batch) private {
        uint64 merchantId = batch.merchantId;
        Merchant storage m = _merchants[merchantId];
        mapping(address => Account) storage accounts = _accounts[merchantId];
        Account storage a = accounts[address(0)];
        address accountToken = address(0);
        (uint256 item, uint256 end) = _itemsSpan(batch.payouts);
        while (item < end) {
            address token; // the item's kind, at `item`, is read only where it is needed
            address to;
            uint256 amount;
            uint256 payoutId;
            assembly ("memory-safe") {
                token := calldataload(add(item, 0x20))
                to := calldataload(add(item, 0x40))
                amount := calldataload(add(item, 0x60))
                payoutId := calldataload(add(item, 0x80))
            }
            if (token != accountToken) {
                a = accounts[token];
                accountToken = token;
            }
            bool common;
            assembly ("memory-safe") {
                let slot := sload(m.slot)
                let account := sload(a.slot)
                let bit := shl(add(192, and(payoutId, 63)), 1)
                let uncommon := or(or(iszero(to), eq(to, address())), iszero(amount))
                uncommon := or(uncommon, lt(and(account, 0xffffffffffffffffffffffffffffffff), amount))
                uncommon := or(uncommon, or(xor(shr(6, payoutId), and(shr(176, slot), 0xffff)), and(slot, bit)))
                common := iszero(uncommon)
                if common {
                    sstore(m.slot, or(slot, bit))
                    sstore(a.slot, sub(account, amount)) // the balance (bits 0..127) is at least `amount`
                }
            }
            if (!common) {
                _payItem(merchantId, item);
            } else if (_trySend(token, to, amount)) {
                _emitPayoutExecuted(merchantId, item);
            } else {
                _undoPayout(m, a, merchantId, payoutId, token, to, amount);
            }
            unchecked {
                item += 0xa0;
            }
        }
    }

    /// @dev The calldata offsets of a batch's first item and of the end of its items (5 words each).
    function _itemsSpan(PayoutItem[] calldata items) private pure returns (uint256 item, uint256 end) {
        assembly ("memory-safe") {
            item := items.offset
            end := add(item, mul(items.length, 0xa0))
        }
    }

    /// @dev {_pay} (not strict) of the batch item at calldata offset `item` (checked by {_hashPayoutBatch}).
    function _payItem(uint64 merchantId, uint256 item) private {
        uint256 kind;
        address token;
        address to;
        uint256 amount;
        uint256 payoutId;
        assembly ("memory-safe") {
            kind := calldataload(item)
            token := calldataload(add(item, 0x20))
            to := calldataload(add(item, 0x40))
            amount := calldataload(add(item, 0x60))
            payoutId := calldataload(add(item, 0x80))
        }
        _pay(merchantId, PayoutKind(kind), token, to, amount, payoutId, false);
    }

    /**
     * @dev `emit PayoutExecuted(merchantId, payoutId, kind, token, to, amount)` of the batch item at calldata
     * offset `item`, written out: the item's first four words are the event's data as they stand (checked by
     * {_hashPayoutBatch}), so they are copied, not decoded and encoded again.
     */
    function _emitPayoutExecuted(uint256 merchantId, uint256 item) private {
        // `merchantId` is a uint256 here so that the topic is the value widened (cleaned) by the compiler:
        // assembly cannot assume a narrower type's high bits are zero.
        bytes32 topic = PayoutExecuted.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40) // scratch above the free pointer; not allocated, not kept
            calldatacopy(ptr, item, 0x80) // kind | token | to | amount
            log3(ptr, 0x80, topic, merchantId, calldataload(add(item, 0x80)))
        }
    }

    /**
     * @dev After a transfer of a non-strict payout failed: gives the amount back, frees the id and reports
     * the payout with {PayoutSkipped}. Both slots are read afresh (a callback may have changed them).
     */
    function _undoPayout(
        Merchant storage m,
        Account storage a,
        uint64 merchantId,
        uint256 payoutId,
        address token,
        address to,
        uint256 amount
    ) private {
        // Nothing credits during a payout (sweeps are nonReentrant): the balance is back where it was.
        _store(a, _load(a) + amount);
        _freePayoutId(m, merchantId, payoutId);
        _skip(
            merchantId,
            payoutId,
            token == address(0)
                ? abi.encodeWithSelector(VaultNativeTransferFailed.selector, to, amount)
                : abi.encodeWithSelector(VaultTokenTransferFailed.selector, token, to, amount)
        );
    }

    /**
     * @dev Pays one authorised payout. `strict`: revert with the reason it cannot be paid; otherwise report it
     * with {PayoutSkipped} and leave everything as it was. Checks, then the id and the debit, then the
     * transfer (undone on failure when not strict), then {PayoutExecuted}; every entry point is nonReentrant.
     */
    function _pay(
        uint64 merchantId,
        PayoutKind kind,
        address token,
        address to,
        uint256 amount,
        uint256 payoutId,
        bool strict
    ) private returns (bool) {
        // validate
        if (to == address(0)) return _fail(strict, merchantId, payoutId, abi.encodeWithSelector(VaultZeroAddress.selector, "to"));
        if (to == address(this)) return _fail(strict, merchantId, payoutId, abi.encodeWithSelector(VaultRecipientIsVault.selector));
        if (amount == 0) return _fail(strict, merchantId, payoutId, abi.encodeWithSelector(VaultZeroAmount.selector));
        Account storage a = _accounts[merchantId][token];
        uint256 account = _load(a);
        if (uint128(account) < amount) {
            return _fail(
                strict,
                merchantId,
                payoutId,
                abi.encodeWithSelector(VaultInsufficientBalance.selector, merchantId, token, uint128(account), amount)
            );
        }
        // write
        if (!_usePayoutId(_merchants[merchantId], merchantId, payoutId)) {
            return _fail(strict, merchantId, payoutId, abi.encodeWithSelector(VaultPayoutIdUsed.selector, merchantId, payoutId));
        }
        // The balance is the slot's low 128 bits and at least `amount`: the subtraction stays within them.
        _store(a, account - amount);
        // call out
        if (!_trySend(token, to, amount)) {
            if (strict) {
                if (token == address(0)) revert VaultNativeTransferFailed(to, amount);
                revert VaultTokenTransferFailed(token, to, amount);
            }
            _undoPayout(_merchants[merchantId], a, merchantId, payoutId, token, to, amount);
            return false;
        }
        // emit
        emit PayoutExecuted(merchantId, payoutId, kind, token, to, amount);
        return true;
    }

    /// @dev Reverts with `err` when `strict`, else reports it with {PayoutSkipped}. Returns false.
    function _fail(bool strict, uint64 merchantId, uint256 payoutId, bytes memory err) private returns (bool) {
        if (strict) _revertIf(err);
        _skip(merchantId, payoutId, err);
        return false;
    }

    function _skip(uint64 merchantId, uint256 payoutId, bytes memory err) private {
        emit PayoutSkipped(merchantId, payoutId, err);
    }

    /// @dev Reverts with the ABI-encoded error `err`, if any.
    function _revertIf(bytes memory err) private pure {
        if (err.length != 0) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
    }

    /**
     * @dev Marks `payoutId` used; false if it already was. Ids are tracked in 64-id ranges (range = id / 64).
     * The merchant's slot holds one range, `payoutRange`, with its bits in `payoutBits`; every other range
     * lives in the bitmap `_payoutIdWords` (range r is bits `(r % 4) * 64 ..` of word `r / 4`). So an id is
     * used iff its bit is set where its range lives now. A payout in a higher range moves the slot there:
     * the slot's bits are written to the bitmap and the new range's bits are read from it, so no id ever
     * changes state by a move (none is skipped or spent). Gateways number payouts 1, 2, 3, ...: nearly
     * every payout then reads and writes only the merchant's slot; one in 64 pays for a move (about 5,000
     * gas, 22,000 when it opens a bitmap word), and an id in a lower range costs one bitmap read and write.
     */
    function _usePayoutId(Merchant storage m, uint64 merchantId, uint256 payoutId) private returns (bool) {
        // The slot: signer (bits 0..159), feeBps (160..175), payoutRange (176..191), payoutBits (192..255).
        uint256 slot = _load(m);
        uint256 range = payoutId >> 6;
        uint256 current = (slot >> 176) & 0xffff;
        if (range != current) {
            mapping(uint256 => uint256) storage words = _payoutIdWords[merchantId];
            if (range < current || range > type(uint16).max) {
                uint256 word = words[payoutId >> 8];
                uint256 flag = 1 << (payoutId & 255);
                if (word & flag != 0) return false;
                words[payoutId >> 8] = word | flag;
                return true;
            }
            uint256 held = slot >> 192;
            if (held != 0) words[current >> 2] |= held << ((current & 3) * 64);
            uint256 loaded = uint64(words[range >> 2] >> ((range & 3) * 64));
            slot = uint176(slot) | (range << 176) | (loaded << 192);
        }
        uint256 bit = 1 << (192 + (payoutId & 63));
        if (slot & bit != 0) return false;
        _store(m, slot | bit);
        return true;
    }

    /// @dev Undoes {_usePayoutId} after a transfer that failed (the id's range is where that call left it).
    function _freePayoutId(Merchant storage m, uint64 merchantId, uint256 payoutId) private {
        if (payoutId >> 6 == m.payoutRange) {
            m.payoutBits &= ~uint64(1 << (payoutId & 63));
        } else {
            _payoutIdWords[merchantId][payoutId >> 8] &= ~(1 << (payoutId & 255));
        }
    }

    function _hashPayout(Payout calldata p) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(PAYOUT_TYPEHASH, p.merchantId, p.kind, p.token, p.to, p.amount, p.payoutId, p.deadline)
            )
        );
    }

    /**
     * @dev EIP-712: an array of structs is hashed as keccak256 of its items' struct hashes, concatenated.
     * In assembly so that a batch of 50 hashes its items in one scratch buffer above the free memory pointer
     * (the item hashes, then one item's encoding, rewritten per item; not allocated, not kept) instead of
     * allocating an `abi.encode` per item. Each item is checked as the `abi.encode` of its calldata fields
     * would check it: a kind outside {PayoutKind} or an address with dirty high bits reverts, without data.
     * {_payBatch} relies on this check: every batch it pays was hashed here first.
     */
    function _hashPayoutBatch(PayoutBatch calldata batch) private view returns (bytes32) {
        PayoutItem[] calldata items = batch.payouts;
        bytes32 itemTypehash = PAYOUT_ITEM_TYPEHASH;
        uint256 maxKind = uint256(type(PayoutKind).max);
        bytes32 itemsHash;
        assembly ("memory-safe") {
            let n := items.length
            let hashes := mload(0x40)
            let encoded := add(hashes, shl(5, n)) // PAYOUT_ITEM_TYPEHASH | kind | token | to | amount | payoutId
            mstore(encoded, itemTypehash)
            let item := items.offset
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                calldatacopy(add(encoded, 0x20), item, 0xa0)
                // a kind outside PayoutKind, or a token or recipient with bits above 160
                if or(
                    gt(mload(add(encoded, 0x20)), maxKind),
                    shr(160, or(mload(add(encoded, 0x40)), mload(add(encoded, 0x60))))
                ) { revert(0, 0) }
                mstore(add(hashes, shl(5, i)), keccak256(encoded, 0xc0))
                item := add(item, 0xa0)
            }
            itemsHash := keccak256(hashes, shl(5, n))
        }
        return _hashTypedDataV4(
            keccak256(abi.encode(PAYOUT_BATCH_TYPEHASH, batch.merchantId, batch.deadline, itemsHash))
        );
    }

    // ============================================================ internals: sweeps and ledger

    /**
     * @dev What the groups of one sweep share: the token, its {_tokenState} word (measured flag, epoch), and
     * for a measured token the vault's balance before the current group.
     */
    struct SweepContext {
        address token;
        uint64 merchantId; // of the current group
        uint256 state;
        uint256 balance;
    }

    /**
     * @dev Sweeps and credits the merchant group of `entries` starting at `i`; returns where the next starts
     * and the amount its addresses moved. The account is handled as its packed slot (balance bits 0..127,
     * fees 128..223, fee copy 224..239, epoch 240..255): one SLOAD and one SSTORE per group.
     */
    function _sweepAndCredit(
        SweepContext memory ctx,
        uint256[] calldata entries,
        uint256[] calldata amounts,
        uint256 i
    ) private returns (uint256 next, uint256 moved) {
        ctx.merchantId = uint64(_wordAt(entries, i) >> 192); // i < entries.length: see {sweep}
        Account storage stored = _accounts[ctx.merchantId][ctx.token];
        uint256 account = _load(stored);
        // The fee copy and its epoch as stored on credit: taken afresh if the copy is of an older epoch.
        uint256 feeAndEpoch = account >> 224;
        {
            uint256 epoch = _epochOf(ctx.state);
            if (feeAndEpoch >> 16 != epoch) {
                feeAndEpoch = uint256(_requireMerchant(ctx.merchantId).feeBps) | (epoch << 16);
            }
        }
        (next, moved) = _sweepGroup(ctx.token, entries, amounts, i, _room(account, feeAndEpoch & 0xffff));
        uint256 received = moved;
        if (ctx.state & TOKEN_MEASURED != 0) {
            // Credited with what arrived: the vault's balance change over the group.
            uint256 balanceAfter = _selfBalance(ctx.token);
            received = balanceAfter - ctx.balance;
            ctx.balance = balanceAfter;
        }
        if (received != 0) _credit(stored, account, feeAndEpoch, ctx, received);
    }

    /**
     * @dev Credits `received` less the fee to the packed `account`, keeping `feeAndEpoch` (fee copy | epoch
     * << 16) as its copy. Within the room checked entry by entry (measured: at most what was moved), so
     * nothing overflows.
     */
    function _credit(
        Account storage stored,
        uint256 account,
        uint256 feeAndEpoch,
        SweepContext memory ctx,
        uint256 received
    ) private {
        uint256 fee = (received * (feeAndEpoch & 0xffff)) / 10_000;
        uint256 net;
        unchecked {
            net = received - fee; // the fee copy is at most MAX_FEE_BPS: fee <= received
        }
        uint256 balance = uint128(account) + net;
        uint256 fees = ((account >> 128) & MAX_FEES) + fee;
        _store(stored, balance | (fees << 128) | (feeAndEpoch << 224));
        // emit Swept(ctx.merchantId, ctx.token, received, fee), written out: it runs once per merchant group.
        bytes32 topic = Swept.selector;
        uint256 merchantId = ctx.merchantId;
        address token = ctx.token;
        assembly ("memory-safe") {
            let ptr := mload(0x40) // scratch above the free pointer; not allocated, not kept
            mstore(ptr, received)
            mstore(add(ptr, 0x20), fee)
            log3(ptr, 0x40, topic, merchantId, token)
        }
    }

    /**
     * @dev Sweeps the run of entries from `i` that share entry i's merchant, moving at most `room` in all.
     * `i` is below `entries.length` here and in the loop, and `amounts` is empty or as long ({sweep} checks
     * it): both are read with {_wordAt}, without a bounds check per read.
     */
    function _sweepGroup(
        address token,
        uint256[] calldata entries,
        uint256[] calldata amounts,
        uint256 i,
        uint256 room
    ) private returns (uint256 next, uint256 moved) {
        uint256 n = entries.length;
        bool withAmounts = amounts.length != 0;
        uint256 entry = _wordAt(entries, i);
        uint256 merchantBits = entry >> 192;
        do {
            address depositAddress =
                entry & DEPLOY_FLAG == 0 ? _depositAddress(entry) : _deploy(entry ^ DEPLOY_FLAG);
            // `_sweepOne` moves at most `room - moved`: `moved` never exceeds `room`.
            unchecked {
                moved += _sweepOne(token, depositAddress, withAmounts ? _wordAt(amounts, i) : 0, room - moved);
                ++i;
            }
            // The next entry, read once: it continues the group if it has the same merchant.
        } while (i < n && (entry = _wordAt(entries, i)) >> 192 == merchantBits);
        return (i, moved);
    }

    /// @dev `array[i]` without the bounds check, for an `i` the caller knows to be below the array's length.
    function _wordAt(uint256[] calldata array, uint256 i) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(array.offset, shl(5, i)))
        }
    }

    /**
     * @dev Sweeps `amount` (0: the whole balance) of `token` from one address into the vault if it fits
     * `room`. Returns the amount moved (0 if nothing was, with {SweepSkipped} if something could not be).
     */
    function _sweepOne(address token, address depositAddress, uint256 amount, uint256 room) private returns (uint256) {
        if (token == address(0)) {
            uint256 held = depositAddress.balance;
            if (amount == 0) amount = held;
            if (amount == 0) return 0;
            // An address without code accepts the command and moves nothing: check that the coin left.
            if (
                amount <= room && amount <= held && TokenCalls.forward(depositAddress, address(this), amount, "")
                    && depositAddress.balance == held - amount
            ) {
                emit NativeSwept(depositAddress, amount);
                return amount;
            }
        } else {
            if (amount == 0) amount = token.balanceOfAccount(depositAddress);
            if (amount == 0) return 0;
            if (amount <= room && TokenCalls.forwardTransfer(depositAddress, token, address(this), amount)) {
                return amount;
            }
        }
        emit SweepSkipped(token, depositAddress, amount);
        return 0;
    }

    /// @dev The salt's address, deployed if it has no code yet.
    function _deployIfNeeded(uint256 salt) private returns (address depositAddress) {
        depositAddress = _depositAddress(salt);
        if (depositAddress.code.length == 0) _deploy(salt);
    }

    function _deploy(uint256 salt) private returns (address deployed) {
        uint256 kind = uint8(salt >> 184);
        // Payment (1) or Recharge (2): one comparison, `kind - 1` wrapping for None (0).
        unchecked {
            if (kind - uint8(DepositKind.Payment) > uint8(DepositKind.Recharge) - uint8(DepositKind.Payment)) {
                revert VaultInvalidDepositKind(uint8(kind));
            }
        }
        deployed = DepositAddressCode.create2(address(this), salt);
        if (deployed == address(0)) revert VaultDeployFailed(salt);
        // emit DepositAddressDeployed(deployed, salt), written out: it runs on every first sweep of an address.
        bytes32 topic = DepositAddressDeployed.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40) // scratch above the free pointer; not allocated, not kept
            mstore(ptr, salt)
            log2(ptr, 0x20, topic, deployed)
        }
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

    /**
     * @dev Sends `amount` of `token` (native coin: `address(0)`) to `to`; whether it arrived without a revert.
     * A token counts as sent exactly as OpenZeppelin's `SafeERC20.trySafeTransfer` decides (same call, same
     * buffer layout, same checks): the call succeeded and answered a word equal to 1, or answered nothing from
     * an address with code. Written out here, at the free memory pointer (scratch, not kept), because it runs
     * once per payout of a batch; the native coin's answer is not copied to memory.
     */
    function _trySend(address token, address to, uint256 amount) private returns (bool ok) {
        assembly ("memory-safe") {
            switch token
            case 0 { ok := call(gas(), to, amount, 0, 0, 0, 0) }
            default {
                let ptr := mload(0x40)
                mstore(ptr, 0xa9059cbb00000000000000000000000000000000000000000000000000000000) // transfer
                mstore(add(ptr, 0x04), to)
                mstore(add(ptr, 0x24), amount)
                ok := call(gas(), token, 0, ptr, 0x44, ptr, 0x20)
                if iszero(and(ok, eq(mload(ptr), 1))) {
                    ok := and(ok, and(iszero(returndatasize()), gt(extcodesize(token), 0)))
                }
            }
        }
    }

    function _send(address token, address to, uint256 amount) private {
        if (_trySend(token, to, amount)) return;
        if (token == address(0)) revert VaultNativeTransferFailed(to, amount);
        revert VaultTokenTransferFailed(token, to, amount);
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
        for (uint256 i; i < _allowedTokens.length; ++i) {
            address token = _allowedTokens[i];
            _tokenState[token] = (_tokenState[token] & ~TOKEN_PAUSED) | pausedBit;
        }
    }

    /// @dev The whole packed slot of a {Merchant} or an {Account}: one SLOAD instead of one per field.
    function _load(Merchant storage m) private view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(m.slot)
        }
    }

    function _load(Account storage a) private view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(a.slot)
        }
    }

    /// @dev Writes a whole packed slot (see {_load}): one SSTORE instead of a read-modify-write per field.
    function _store(Merchant storage m, uint256 value) private {
        assembly ("memory-safe") {
            sstore(m.slot, value)
        }
    }

    function _store(Account storage a, uint256 value) private {
        assembly ("memory-safe") {
            sstore(a.slot, value)
        }
    }

    function _epochOf(uint256 state) private pure returns (uint256) {
        return (state >> EPOCH_SHIFT) & 0xffff;
    }

    /**
     * @dev The most a group may credit to the packed `account` so that the balance still fits 128 bits and the fees 96 bits:
     * `balance + x <= 2**128 - 1` (the fee only lowers the balance's share), and `floor(x * feeBps / 10_000)
     * <= 2**96 - 1 - fees`. Entries beyond it are skipped and keep their funds ({SweepSkipped}).
     */
    function _room(uint256 account, uint256 feeBps) private pure returns (uint256 room) {
        // Each operand is masked to its field: no subtraction underflows, the product stays below 2**110.
        unchecked {
            room = MAX_BALANCE - uint128(account);
            if (feeBps != 0) {
                uint256 feeRoom = ((MAX_FEES - ((account >> 128) & MAX_FEES)) * 10_000) / feeBps;
                if (feeRoom < room) room = feeRoom;
            }
        }
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
