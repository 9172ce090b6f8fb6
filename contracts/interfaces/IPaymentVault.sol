// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/**
 * @title IPaymentVault
 * @notice Errors, events and types of the payment gateway's vault: the deposit-address factory, the
 * sweeper, the per-merchant ledger with its platform fee, and merchant-authorised payouts.
 *
 * Amounts are token base units. The native coin is `address(0)` wherever a token is expected.
 */
interface IPaymentVault {
    /// @notice The two kinds of deposit address (see {PaymentVault-depositSalt}).
    enum DepositKind {
        None, // never valid: keeps a zeroed salt from naming an address
        Payment, // a pooled address, leased to one open order at a time
        Recharge // one fixed address per merchant user
    }

    /// @notice What a payout is for. The vault treats every kind alike; the kind is recorded for the books.
    enum PayoutKind {
        Refund,
        Withdrawal,
        Settlement
    }

    /**
     * @notice A merchant's on-chain configuration, in one slot (a payout reads and writes only this slot
     * besides the merchant's account, as long as its id is in the slot's range).
     * @param signer the only key that can authorise payouts from the merchant's balance; zero = not registered
     * @param feeBps platform fee in basis points, deducted from every credit
     * @param payoutRange which 64 payout ids the slot tracks: `payoutRange * 64 .. payoutRange * 64 + 63`
     * @param payoutBits which of those ids are used (bit i = id `payoutRange * 64 + i`); every other id is
     * tracked in a per-merchant bitmap (see {PaymentVault-isPayoutIdUsed})
     */
    struct Merchant {
        address signer;
        uint16 feeBps;
        uint16 payoutRange;
        uint64 payoutBits;
    }

    /// @notice A payout from a merchant's balance, authorised by the merchant's signer (EIP-712 type `Payout`).
    /// @param merchantId whose balance pays
    /// @param kind refund, withdrawal or settlement
    /// @param token the token paid, `address(0)` for the native coin
    /// @param to the recipient
    /// @param amount debited from the merchant's balance and sent to `to`
    /// @param payoutId the gateway's payout number for this merchant (its order reference); paid at most once,
    /// in any order
    /// @param deadline last unix timestamp at which the payout may execute
    struct Payout {
        uint64 merchantId;
        PayoutKind kind;
        address token;
        address to;
        uint256 amount;
        uint256 payoutId;
        uint64 deadline;
    }

    /// @notice One payout of a {PayoutBatch} (EIP-712 type `PayoutItem`): a {Payout} without the batch's fields.
    struct PayoutItem {
        PayoutKind kind;
        address token;
        address to;
        uint256 amount;
        uint256 payoutId;
    }

    /**
     * @notice Many payouts of one merchant under one signature (EIP-712 type `PayoutBatch`). A wallet shows
     * every item's recipient and amount. Each item is paid at most once, on its own: an item that cannot be
     * paid is reported by {PayoutSkipped} and the others are paid.
     */
    struct PayoutBatch {
        uint64 merchantId;
        uint64 deadline;
        PayoutItem[] payouts;
    }

    /// @notice A signed single payout, for {PaymentVault-relayPayouts}.
    struct SignedPayout {
        Payout payout;
        bytes signature;
    }

    /// @notice A signed batch, for {PaymentVault-relayPayouts}.
    struct SignedPayoutBatch {
        PayoutBatch batch;
        bytes signature;
    }

    // ---------------------------------------------------------------- errors

    /// @dev A zero address was given where an account is required (`what` names the parameter).
    error VaultZeroAddress(string what);
    /// @dev The merchant id is not registered.
    error VaultUnknownMerchant(uint64 merchantId);
    /// @dev The merchant id is already registered.
    error VaultMerchantExists(uint64 merchantId);
    /// @dev Merchant id 0 is reserved.
    error VaultInvalidMerchantId();
    /// @dev The fee is above the cap.
    error VaultFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @dev The token is not on the sweep allowlist.
    error VaultTokenNotAllowed(address token);
    /// @dev The token is on the sweep allowlist, so it cannot be rescued from a deposit address (sweep it instead).
    error VaultTokenIsAllowed(address token);
    /// @dev The deposit kind is neither Payment nor Recharge.
    error VaultInvalidDepositKind(uint8 kind);
    /// @dev A deposit key is wider than 184 bits.
    error VaultDepositKeyTooLarge(uint256 key);
    /// @dev The caller is not the merchant's signer.
    error VaultNotMerchantSigner(uint64 merchantId, address caller);
    /// @dev The payout signature does not come from the merchant's signer.
    error VaultInvalidSignature(uint64 merchantId);
    /// @dev The payout's deadline has passed.
    error VaultPayoutExpired(uint256 payoutId, uint64 deadline, uint256 nowTimestamp);
    /// @dev The payout id was already paid or cancelled.
    error VaultPayoutIdUsed(uint64 merchantId, uint256 payoutId);
    /// @dev A payout, claim or credit amount of zero.
    error VaultZeroAmount();
    /// @dev The merchant's balance is below the payout amount.
    error VaultInsufficientBalance(uint64 merchantId, address token, uint256 balance, uint256 requested);
    /// @dev The native coin could not be delivered to `to`.
    error VaultNativeTransferFailed(address to, uint256 amount);
    /// @dev The ERC-20 transfer failed or returned false.
    error VaultTokenTransferFailed(address token, address to, uint256 amount);
    /// @dev A payout or rescue names the vault itself as recipient.
    error VaultRecipientIsVault();
    /// @dev Native coin sent to the vault outside a native-coin sweep: payers pay deposit addresses, never the vault.
    error VaultDirectNativeDeposit(address sender);
    /// @dev Deploying a deposit address failed (it has code already: the sweep entry should not carry the deploy flag).
    error VaultDeployFailed(uint256 salt);
    /// @dev A rescue from a deposit address that has no code yet: the operator deploys it first.
    error VaultDepositAddressNotDeployed(uint256 salt);
    /// @dev The allowlist holds {PaymentVault-MAX_TOKENS} tokens already.
    error VaultTooManyTokens(uint256 maxTokens);
    /// @dev `sweep` was given an amounts array whose length differs from the entries'.
    error VaultLengthMismatch(uint256 entries, uint256 amounts);
    /**
     * @dev A sweep of an exactly-credited token brought in less than the amounts it credited: the token took
     * a fee on transfer. Mark it with `setTokenMeasured` so that its sweeps credit measured balance changes.
     */
    error VaultSweepShortfall(address token, uint256 credited, uint256 arrived);
    /// @dev The token was allowlisted at some point (merchants may hold balances in it): it cannot be recovered.
    error VaultTokenWasAllowed(address token);

    // ---------------------------------------------------------------- events

    /// @dev Emitted when a merchant id is registered.
    event MerchantRegistered(uint64 indexed merchantId, address indexed signer, uint16 feeBps);
    /// @dev Emitted when a merchant's signer hands its authority to a new signer.
    event MerchantSignerChanged(uint64 indexed merchantId, address indexed previousSigner, address indexed newSigner);
    /// @dev Emitted when a merchant's platform fee changes.
    event MerchantFeeChanged(uint64 indexed merchantId, uint16 previousFeeBps, uint16 newFeeBps);
    /// @dev Emitted when a token is added to or removed from the sweep allowlist.
    event TokenAllowed(address indexed token, bool allowed);
    /// @dev Emitted when a token's sweeps switch between exact and measured credits (see `setTokenMeasured`).
    event TokenMeasured(address indexed token, bool measured);
    /// @dev Emitted when the fee recipient changes.
    event FeeRecipientChanged(address indexed previousRecipient, address indexed newRecipient);
    /// @dev Emitted when a deposit address gets its code (on its first sweep or on request).
    /// The merchant id is `salt >> 192`.
    event DepositAddressDeployed(address indexed depositAddress, uint256 salt);
    /**
     * @dev Emitted once per merchant group per sweep: `amount` arrived in the vault from the merchant's
     * deposit addresses, `fee` of it went to the platform and `amount - fee` to the merchant's balance.
     * Per-address amounts are in the token's own `Transfer` logs (deposit address -> vault) in the same
     * transaction, or, for the native coin, in {NativeSwept}.
     */
    event Swept(uint64 indexed merchantId, address indexed token, uint256 amount, uint256 fee);
    /// @dev Emitted for each native-coin deposit address swept: the per-address amount (native coin has no Transfer log).
    event NativeSwept(address indexed depositAddress, uint256 amount);
    /**
     * @dev Emitted when a deposit address could not be swept (a blocklisting token, an address without code,
     * a credit the 128-bit ledger cannot hold); its funds stay where they are and the rest of the batch went on.
     */
    event SweepSkipped(address indexed token, address indexed depositAddress, uint256 amount);
    /// @dev Emitted when a payout leaves the vault.
    event PayoutExecuted(
        uint64 indexed merchantId, uint256 indexed payoutId, PayoutKind kind, address token, address to, uint256 amount
    );
    /**
     * @dev Emitted when a payout of a batch or a relay could not be paid; the others went on. `reason` is the
     * ABI-encoded custom error {payout} would revert with (e.g. {VaultInsufficientBalance}). The id stays
     * unused: the same signed payout may be relayed again until its deadline, or the signer cancels it.
     */
    event PayoutSkipped(uint64 indexed merchantId, uint256 indexed payoutId, bytes reason);
    /// @dev Emitted when a merchant's signer revokes a payout id before it was paid.
    event PayoutCancelled(uint64 indexed merchantId, uint256 indexed payoutId);
    /// @dev Emitted when a token that was never allowlisted is moved out of the vault by the admin.
    event VaultTokenRecovered(address indexed token, address indexed to, uint256 amount);
    /// @dev Emitted when accrued platform fees are paid to the fee recipient.
    event FeesClaimed(address indexed token, address indexed recipient, uint256 amount);
    /// @dev Emitted when a merchant moves a non-allowlisted token out of one of its deposit addresses.
    event DepositTokenRescued(
        uint64 indexed merchantId,
        address indexed depositAddress,
        address indexed token,
        address to,
        uint256 amount
    );

    // ---------------------------------------------------------------- functions

    /// @notice Registers a merchant id with its payout signer and fee.
    function registerMerchant(uint64 merchantId, address signer, uint16 feeBps) external;

    /// @notice Sets a merchant's platform fee for future credits.
    function setMerchantFee(uint64 merchantId, uint16 feeBps) external;

    /// @notice Hands a merchant's payout authority to `newSigner`. Only the current signer may call.
    function setMerchantSigner(uint64 merchantId, address newSigner) external;

    /// @notice Adds `token` to or removes it from the sweep allowlist.
    function setTokenAllowed(address token, bool allowed) external;

    /// @notice Sets the account that receives claimed platform fees.
    function setFeeRecipient(address recipient) external;

    /// @notice Marks `token` as credited by measured balance change (fee-on-transfer tokens) or not.
    function setTokenMeasured(address token, bool measured) external;

    /// @notice Sweeps `token` from deposit addresses into the vault and credits their merchants.
    function sweep(address token, uint256[] calldata entries, uint256[] calldata amounts) external;

    /// @notice Deploys deposit addresses ahead of their first sweep.
    function deployDepositAddresses(uint256[] calldata salts) external;

    /// @notice Pays out from a merchant's balance on the merchant signer's EIP-712 signature.
    function payout(Payout calldata p, bytes calldata signature) external;

    /// @notice Pays out from a merchant's balance when called by the merchant's signer itself.
    function payoutByMerchant(Payout calldata p) external;

    /// @notice Pays many payouts of one merchant on the merchant signer's one EIP-712 signature of the batch.
    function payoutBatch(PayoutBatch calldata batch, bytes calldata signature) external;

    /// @notice Pays many merchants' signed payouts and batches in one transaction; one that fails is skipped.
    function relayPayouts(SignedPayout[] calldata payouts, SignedPayoutBatch[] calldata batches) external;

    /// @notice Revokes an unpaid payout id. Only the merchant's signer may call.
    function cancelPayout(uint64 merchantId, uint256 payoutId) external;

    /// @notice Revokes unpaid payout ids. Only the merchant's signer may call.
    function cancelPayouts(uint64 merchantId, uint256[] calldata payoutIds) external;

    /// @notice Moves the whole balance of a token that was never allowlisted out of the vault.
    function recoverToken(address token, address to) external;

    /// @notice Pays the platform fees accrued on `token` by `merchantIds` to the fee recipient.
    function claimFees(address token, uint64[] calldata merchantIds) external;

    /// @notice Moves a non-allowlisted token out of one of the merchant's deposit addresses. Only the merchant's signer may call.
    function rescueDepositToken(uint256 salt, address token, address to, uint256 amount) external;

    /// @notice The deposit address for `(merchantId, kind, key)`, whether or not it has been deployed.
    function predictDepositAddress(uint64 merchantId, DepositKind kind, uint256 key) external view returns (address);

    /// @notice The CREATE2 salt of `(merchantId, kind, key)`: `merchantId << 192 | kind << 184 | key`.
    function depositSalt(uint64 merchantId, DepositKind kind, uint256 key) external pure returns (uint256);

    /// @notice A merchant's balance and accrued, unclaimed platform fee in `token`.
    function accountOf(uint64 merchantId, address token) external view returns (uint256 balance, uint256 feesAccrued);

    /// @notice A merchant's configuration.
    function merchant(uint64 merchantId) external view returns (Merchant memory);

    /// @notice Whether the merchant's payout id was paid or cancelled.
    function isPayoutIdUsed(uint64 merchantId, uint256 payoutId) external view returns (bool);

    /// @notice Whether `token` may be swept.
    function isTokenAllowed(address token) external view returns (bool);

    /// @notice Whether `token`'s sweeps credit measured balance changes instead of the amounts moved.
    function isTokenMeasured(address token) external view returns (bool);

    /// @notice The EIP-712 digest the merchant's signer signs for `p`.
    function hashPayout(Payout calldata p) external view returns (bytes32);

    /// @notice The EIP-712 digest the merchant's signer signs for `batch`.
    function hashPayoutBatch(PayoutBatch calldata batch) external view returns (bytes32);
}
