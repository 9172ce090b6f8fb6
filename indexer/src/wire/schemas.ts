/**
 * JSON Schemas of the wire format: the objects (shared components, registered once with `$id` and named in
 * the OpenAPI document under that id), the envelope, and the request fields. Fastify compiles them for
 * validation and serialisation; @fastify/swagger turns them into the OpenAPI 3.1 document.
 */

type Schema = Record<string, unknown>;

const str = (description: string): Schema => ({ type: "string", description });
const int = (description: string): Schema => ({ type: "integer", description });
const nullable = (type: string, description: string): Schema => ({ type: [type, "null"], description });
const baseUnits = (description: string): Schema => ({
  type: "string",
  pattern: "^[0-9]+$",
  description: `${description}; an integer string in the token's smallest unit (see decimals)`,
});
const time = (description: string): Schema => ({ type: "string", description: `${description}; YYYY-MM-DD HH:mm:ss, UTC` });
const address = (description: string): Schema => ({ type: "string", description: `${description} (EIP-55 checksummed)` });

export const ref = (id: string) => ({ $ref: `${id}#` });

// ------------------------------------------------------------------ envelope

export const envelope = (data: Schema) => ({
  type: "object",
  required: ["code", "msg", "data"],
  properties: { code: { type: "integer", description: "200 on success" }, msg: { type: "string" }, data },
});

/** The answer of the notify routes: the envelope without data (reference 3.12). */
export const emptyEnvelope = {
  type: "object",
  required: ["code", "msg"],
  properties: { code: { type: "integer" }, msg: { type: "string" } },
};

export const errorEnvelope = {
  $id: "ErrorEnvelope",
  type: "object",
  required: ["code", "msg", "data"],
  description: "code: a stable error code (first three digits = the HTTP status), msg: what to fix",
  properties: { code: { type: "integer" }, msg: { type: "string" }, data: { type: "null" } },
};

export const errorResponses = { "4xx": ref("ErrorEnvelope"), "5xx": ref("ErrorEnvelope") };

// ------------------------------------------------------------------ objects

const transfer = {
  type: "object",
  required: [
    "chainId",
    "transferHash",
    "logIndex",
    "blockNumber",
    "fromAddress",
    "tokenAddress",
    "amount",
    "confirmations",
    "status",
    "late",
    "counted",
    "foundBy",
    "matchedTxHashes",
  ],
  properties: {
    chainId: int("chain the transfer is on"),
    transferHash: str("transaction hash"),
    logIndex: int("log index; -1: a native transfer seen only as a transaction"),
    blockNumber: str("block number"),
    fromAddress: nullable("string", "sender (EIP-55 checksummed); null when found by a balance change: no transaction is known"),
    tokenAddress: address("token; 0x000…0 for the native coin"),
    currencyId: int("currencyId of the token (0: a token this gateway never configured)"),
    amount: baseUnits("amount"),
    confirmations: int("blocks on top, the transfer's own included; 0 once removed by a reorg"),
    status: { type: "string", enum: ["seen", "confirmed", "removed"] },
    late: { type: "boolean", description: "arrived after the order closed (recorded, shown, not counted towards it)" },
    counted: { type: "boolean", description: "false: another token than the order's (recorded and shown, not counted)" },
    foundBy: {
      type: "string",
      enum: ["log", "transaction", "trace", "balance"],
      description: "how the gateway found it: a Transfer log, a native transaction, a call trace (a contract paid), or a balance change",
    },
    matchedTxHashes: {
      type: "array",
      items: { type: "string" },
      description: "foundBy balance: the transactions found later that this balance change turned out to be (counted once)",
    },
  },
};

/** A fiat order's locked quote (presenters.ts presentQuote): additions on the payment order and the created order. */
const quoteProperties = {
  exchangeRate: nullable(
    "string",
    "isLegalTender 1: units of quoteCurrencySymbol per one whole token, a decimal string (the rate the amount was locked at); null for a crypto quote",
  ),
  rateSources: {
    type: ["array", "null"],
    description:
      "isLegalTender 1: the price feed rounds the rate was computed from (AggregatorV3 feeds read on chain); null for a crypto quote",
    items: {
      type: "object",
      properties: {
        pair: str("e.g. ETH/USD, CNY/USD"),
        feed: address("the feed contract"),
        roundId: str("the feed's round"),
        answer: str("the round's answer, an integer with the feed's decimals"),
        decimals: int("the feed's decimals"),
        updatedAt: int("unix seconds the round was updated"),
        blockNumber: str("the block it was read at"),
      },
    },
  },
  quotedTime: nullable("string", "isLegalTender 1: when the quote was made; YYYY-MM-DD HH:mm:ss, UTC"),
  rateLockedUntil: nullable(
    "string",
    "isLegalTender 1: the amount holds at this rate until then (the order's expiry); YYYY-MM-DD HH:mm:ss, UTC",
  ),
};

export const paymentOrderSchema = {
  $id: "PaymentOrder",
  type: "object",
  description:
    "A payment order (reference 3.4): what payment/detail and payment/list answer and what the payment callback carries. The fields up to arrivalTime are Pay Protocol's; where the reference leaves a name open, the choice is noted.",
  required: [
    "chainId",
    "orgId",
    "outTradeNo",
    "outPaymentNo",
    "description",
    "isLegalTender",
    "quoteCurrencySymbol",
    "quoteAmount",
    "paymentStatus",
    "expectedAmount",
  ],
  properties: {
    chainId: int("EVM chain id of the order's current chain"),
    orgId: int("the merchant's id"),
    outTradeNo: str("the merchant's order number"),
    outPaymentNo: str("the gateway's payment order number (seed 003's payOrderId)"),
    description: str("as sent at creation"),
    isLegalTender: int("0: the quote is a crypto amount; 1: a fiat amount (quoteCurrencySymbol an ISO code), priced at exchangeRate"),
    quoteCurrencySymbol: str("as sent at creation (upper case)"),
    quoteAmount: str("as sent at creation (a decimal string)"),
    ...quoteProperties,
    paymentStatus: int(
      "0 paid, 1 pending payment, 2 block confirmation, 3 partially paid, 4 payment failed (also expired or cancelled), 5 refunded",
    ),
    paymentType: int("1: a transfer to the deposit address (the only kind here)"),
    expectedAmount: baseUnits("the amount due in the current currency"),
    settlementAmount: baseUnits("name chosen here: what arrived with the confirmations the chain requires"),
    settlementCurrencySymbol: str("name chosen here: the symbol of the currency paid in"),
    transferHash: nullable("string", "name chosen here: the hash of the first transfer counted for the order"),
    userWalletAddress: nullable("string", "the deposit address (a CREATE2 address of the vault)"),
    fromAddress: nullable("string", "name chosen here: the sender of the first payment (a refund's default recipient)"),
    createTime: time("name chosen here: when the order was created"),
    arrivalTime: nullable("integer", "name chosen here: unix seconds when the order was paid"),
    state: int(
      "seed 003's state: 0 unpaid, 1 incomplete, 2 awaiting confirmation, 3 confirming, 4 success, -1 failed, -2 expired, -3 cancelled",
    ),
    currencyId: int("currencyId of the current currency"),
    symbol: str("symbol of the current currency"),
    decimals: int("decimals of the current currency"),
    chainCode: nullable("string", "the chain's short code (seed 003's chainCode)"),
    seenAmount: baseUnits("transfers seen in blocks, confirmed or not"),
    paidAmount: baseUnits("transfers with the required confirmations (= settlementAmount)"),
    carriedAmount: baseUnits("what arrived in earlier currencies (payment/payInfo/update), counted in seen and paid"),
    refundedAmount: baseUnits("refunds reserved or paid"),
    refundableAmount: baseUnits("paid less refunded"),
    refundPaidAmount: baseUnits("refunds paid on chain"),
    lateAmount: baseUnits("arrived after the order closed"),
    overpaidAmount: baseUnits("arrived on time beyond the amount due"),
    saltHash: str(
      "0x + 64 hex: the CREATE2 salt of userWalletAddress (merchantId << 192 | 1 << 184 | pool index), so the address can be checked against the vault",
    ),
    paymentUrl: str("the payment page's path and query (prefix your payment host, as with Pay Protocol)"),
    paymentLink: str("the whole payment page URL (seed 003's ?accessSign=&merchantOrderId=&payOrderId=&chainCode=)"),
    accessSign: str("seed 003's accessSign"),
    notifyUrl: str("the callback URL"),
    redirectionUrl: nullable("string", "where the payer goes after paying"),
    expireTime: time("when an unpaid order expires"),
    transfers: {
      type: "array",
      items: transfer,
      description: "every transfer recorded against the order, oldest first (late, removed and other-token ones too)",
    },
    earlierChoices: {
      type: "array",
      description: "the currencies the order was payable in before payment/payInfo/update, oldest first",
      items: {
        type: "object",
        properties: {
          chainId: int("EVM chain id"),
          currencyId: int("currencyId"),
          symbol: str("symbol"),
          decimals: int("decimals"),
          userWalletAddress: nullable("string", "the deposit address it had"),
          expectedAmount: baseUnits("due there"),
          seenAmount: baseUnits("seen there"),
          paidAmount: baseUnits("arrived there (carried over)"),
          switchTime: time("when the order left it"),
        },
      },
    },
  },
};

export const createdPaymentSchema = {
  $id: "CreatedPaymentOrder",
  type: "object",
  description: "What createPaymentOrder answers (reference 3.3): outPaymentNo, paymentUrl, userWalletAddress, saltHash, then additions",
  required: ["outPaymentNo", "paymentUrl", "userWalletAddress", "saltHash"],
  properties: {
    outPaymentNo: paymentOrderSchema.properties.outPaymentNo,
    paymentUrl: paymentOrderSchema.properties.paymentUrl,
    paymentLink: paymentOrderSchema.properties.paymentLink,
    userWalletAddress: str("the deposit address"),
    saltHash: paymentOrderSchema.properties.saltHash,
    outTradeNo: paymentOrderSchema.properties.outTradeNo,
    chainId: paymentOrderSchema.properties.chainId,
    currencyId: paymentOrderSchema.properties.currencyId,
    symbol: paymentOrderSchema.properties.symbol,
    decimals: paymentOrderSchema.properties.decimals,
    expectedAmount: paymentOrderSchema.properties.expectedAmount,
    paymentStatus: paymentOrderSchema.properties.paymentStatus,
    state: paymentOrderSchema.properties.state,
    accessSign: paymentOrderSchema.properties.accessSign,
    expireTime: paymentOrderSchema.properties.expireTime,
    ...quoteProperties,
  },
};

export const payInfoSchema = {
  $id: "PayInfo",
  type: "object",
  required: ["countDown", "orgName", "userWalletAddress", "saltHash"],
  properties: {
    countDown: int("seconds left before the order expires"),
    orgName: str("the merchant's name (merchant/settings)"),
    userWalletAddress: str("the deposit address"),
    saltHash: paymentOrderSchema.properties.saltHash,
    chainId: paymentOrderSchema.properties.chainId,
    currencyId: paymentOrderSchema.properties.currencyId,
    symbol: paymentOrderSchema.properties.symbol,
    decimals: paymentOrderSchema.properties.decimals,
    expectedAmount: paymentOrderSchema.properties.expectedAmount,
    paidAmount: paymentOrderSchema.properties.paidAmount,
    paymentStatus: paymentOrderSchema.properties.paymentStatus,
  },
};

export const payInfoUpdateSchema = {
  $id: "PayInfoUpdate",
  type: "object",
  required: ["expectedAmount", "userWalletAddress", "saltHash"],
  properties: {
    expectedAmount: baseUnits("the amount due for the whole quote in the new currency (what already arrived is paidAmount)"),
    userWalletAddress: str("the new deposit address"),
    saltHash: paymentOrderSchema.properties.saltHash,
    chainId: paymentOrderSchema.properties.chainId,
    currencyId: paymentOrderSchema.properties.currencyId,
    symbol: paymentOrderSchema.properties.symbol,
    decimals: paymentOrderSchema.properties.decimals,
    paidAmount: baseUnits("what already arrived, in the new currency"),
    paymentUrl: paymentOrderSchema.properties.paymentUrl,
    paymentLink: paymentOrderSchema.properties.paymentLink,
    expireTime: {
      ...paymentOrderSchema.properties.expireTime,
      description: "addition: when the order expires (a fiat quote's move starts a fresh countdown)",
    },
    ...quoteProperties,
  },
};

const payoutCommon = (kind: "refund" | "withdraw" | "settlement") => ({
  transferHash: nullable("string", "the payout transaction's hash (a withdrawal of several recipients: comma-separated in line order)"),
  state: int("the gateway's payout state: 0 pending approval, 1 approved, 2 broadcast, 3 success, -1 rejected, -2 failed"),
  symbol: str("symbol of the currency"),
  decimals: nullable("integer", "decimals of the currency"),
  approvedBy: {
    type: ["string", "null"],
    enum: ["merchant", "gateway", null],
    description: "who signed the approval; null until approved",
  },
  reason: nullable("string", "why it was rejected or failed"),
  notifyUrl: nullable("string", "the callback URL"),
  payoutDeadline: int("unix seconds: the vault refuses the payout after it"),
  updateTime: time("last change"),
  lines: {
    type: "array",
    description: "each payout (one per recipient): its vault payout id, state and, while pending approval, the EIP-712 data to sign",
    items: {
      type: "object",
      properties: {
        lineNo: int("1, 2, … in the order of the comma-separated lists"),
        [`${kind}Address`]: address("recipient"),
        [`${kind}Amount`]: baseUnits("amount"),
        payoutId: str("the vault payout id"),
        [`${kind}Status`]: int("as the object's status"),
        state: int("the gateway's payout state"),
        transferHash: nullable("string", "the payout transaction's hash"),
        reason: nullable("string", "why it was rejected or failed"),
        skipReason: nullable(
          "string",
          "why the vault last skipped this payout while it may still be paid (a short balance, a refusing recipient): it stays approved and reserved, is sent again, and fails only at its deadline",
        ),
        payoutTypedData: {
          type: "object",
          additionalProperties: true,
          description:
            "while pending approval: the EIP-712 Payout (domain PaymentVault/1/chainId/vault; integers as strings) the payout signer signs",
        },
      },
    },
  },
});

const payoutStatusText =
  "0 success, 1 pending approval, 2 under review (approved, being sent), 3 block confirmation, 4 failure, 5 rejected";

export const refundSchema = {
  $id: "Refund",
  type: "object",
  description: "A refund (reference 3.10): refund/detail, refund/list and the refund callback",
  required: ["chainId", "currencyId", "refundId", "outTradeNo", "outPaymentNo", "refundAddress", "refundAmount", "refundStatus"],
  properties: {
    chainId: int("EVM chain id"),
    currencyId: int("currencyId"),
    refundId: int("the refund's number"),
    outTradeNo: str("the payment's outTradeNo"),
    outPaymentNo: str("the payment's outPaymentNo"),
    refundAddress: address("recipient"),
    refundAmount: baseUnits("amount"),
    refundFee: str("the gateway's fee on the refund: \"0\" (the network fee is paid by the gateway's operator key)"),
    refundStatus: int(payoutStatusText),
    refundTime: time("when the refund was applied for"),
    outRefundNo: nullable("string", "the merchant's idempotency key, when it sent one"),
    ...payoutCommon("refund"),
  },
};

export const withdrawalSchema = {
  $id: "Withdrawal",
  type: "object",
  description: "A withdrawal (reference 3.18): withdraw/detail, withdraw/list and the withdrawal callback",
  required: ["chainId", "currencyId", "withdrawId", "withdrawAddress", "withdrawAmount", "withdrawStatus"],
  properties: {
    chainId: int("EVM chain id"),
    currencyId: int("currencyId"),
    withdrawId: int("the withdrawal's number"),
    outTradeNo: nullable("string", "the merchant's number, when it sent one"),
    withdrawAddress: str("recipient(s), comma-separated in line order (EIP-55 checksummed)"),
    withdrawAmount: str("amount(s) in the token's smallest unit, comma-separated in line order"),
    withdrawStatus: int(
      `${payoutStatusText}; several recipients: the least advanced open line, else 0 if all succeeded, 5 if all were rejected, else 4`,
    ),
    withdrawTime: time("when the withdrawal was applied for"),
    ...payoutCommon("withdraw"),
  },
};

export const settlementSchema = {
  $id: "Settlement",
  type: "object",
  description:
    "A settlement (the gateway's addition): the merchant's vault balance paid to its own address. settlement/detail, settlement/list, callback",
  required: ["chainId", "currencyId", "settlementId", "settlementAddress", "settlementAmount", "settlementStatus"],
  properties: {
    chainId: int("EVM chain id"),
    currencyId: int("currencyId"),
    settlementId: int("the settlement's number"),
    outTradeNo: nullable("string", "the merchant's number, when it sent one"),
    settlementAddress: address("the merchant's own recipient address"),
    settlementAmount: baseUnits("amount"),
    settlementStatus: int(payoutStatusText),
    settlementTime: time("when the settlement was applied for"),
    ...payoutCommon("settlement"),
  },
};

export const rechargeSchema = {
  $id: "Recharge",
  type: "object",
  description: "A recharge (reference 3.16): recharge/detail, recharge/list and the recharge callback",
  required: [
    "chainId",
    "rechargeId",
    "userId",
    "uuid",
    "currencyId",
    "rechargeAmount",
    "rechargeStatus",
    "transferHash",
    "walletAddress",
    "fromAddress",
  ],
  properties: {
    chainId: int("EVM chain id"),
    rechargeId: int("the recharge's number"),
    userId: int("the user's number"),
    uuid: str("the merchant's user id"),
    currencyId: int("currencyId"),
    rechargeAmount: baseUnits("amount"),
    rechargeStatus: int("0 success, 1 pending (awaiting confirmations), 2 failure (removed by a reorg)"),
    transferHash: str("transaction hash"),
    walletId: nullable("integer", "the user's wallet"),
    walletAddress: address("the user's recharge address"),
    fromAddress: nullable("string", "sender (EIP-55 checksummed); null when found by a balance change: no transaction is known"),
    createTime: time("when the deposit was first seen"),
    blockTime: nullable("string", "when the deposit reached its confirmations; YYYY-MM-DD HH:mm:ss, UTC; null before"),
    state: int("the gateway's recharge state: 2 awaiting confirmation, 3 confirming, 4 success, -1 dropped by a reorg"),
    symbol: str("symbol"),
    decimals: nullable("integer", "decimals"),
    tokenAddress: address("token; 0x000…0 for the native coin"),
    logIndex: int("log index; -1: a native transfer seen only as a transaction"),
    blockNumber: str("block number"),
  },
};

export const userSchema = {
  $id: "User",
  type: "object",
  description: "A user and its recharge addresses (reference 3.14)",
  required: ["userId", "uuid", "createTime", "userWallet", "userType"],
  properties: {
    userId: int("the user's number"),
    uuid: str("the merchant's user id"),
    createTime: time("when the user was created"),
    userWallet: {
      type: "array",
      items: {
        type: "object",
        required: ["chainId", "walletId", "walletAddress"],
        properties: {
          chainId: int("EVM chain id"),
          walletId: int("the wallet's number"),
          walletAddress: address("the user's fixed recharge address"),
        },
      },
    },
    userType: int("0: recharge-type (made by user/create)"),
  },
};

export const chainSchema = {
  $id: "Chain",
  type: "object",
  required: ["chainId", "chainName"],
  properties: {
    chainId: int("the EVM chain id (eth_chainId), used as chainId everywhere in this API; not a platform-internal number"),
    chainName: str("display name"),
    chainCode: str("short code (seed 003's chainCode, in the pay URL)"),
    chainType: str("EVM"),
    evmChainId: int("the EVM chain id again, to say so explicitly"),
    confirmations: int("blocks a transfer needs before it counts"),
    nativeCurrencySymbol: nullable("string", "the native coin's symbol when it is accepted"),
    vaultAddress: address("the vault whose CREATE2 deposit addresses receive payments"),
  },
};

export const currencySchema = {
  $id: "Currency",
  type: "object",
  required: ["currencyId", "chainId", "name", "symbol", "address", "decimals", "createTime", "icon"],
  properties: {
    currencyId: int("stable number of this token on this chain"),
    chainId: int("EVM chain id"),
    name: str("name (the chain's name for its native coin)"),
    symbol: str("symbol (quoteCurrencySymbol of a crypto quote)"),
    address: address("token contract; 0x000…0 for the native coin"),
    decimals: nullable("integer", "decimals"),
    createTime: time("when the currency was numbered"),
    icon: str("a data: URI (a generated SVG badge)"),
    isNative: { type: "boolean", description: "the chain's native coin" },
    exchangeRate: nullable(
      "string",
      "addition: the token's USD price (a decimal string) from the chain's price feeds, the rate a fiat quote (isLegalTender 1) uses now; null when the chain does not price it or its feed is refused right now",
    ),
  },
};

export const SHARED_SCHEMAS = [
  errorEnvelope,
  paymentOrderSchema,
  createdPaymentSchema,
  payInfoSchema,
  payInfoUpdateSchema,
  refundSchema,
  withdrawalSchema,
  settlementSchema,
  rechargeSchema,
  userSchema,
  chainSchema,
  currencySchema,
];

export const pageOf = (item: string) => ({
  type: "object",
  required: ["count", "page", "size", "list"],
  properties: {
    count: int("how many match"),
    page: int("this page, from 1"),
    size: int("page size"),
    list: { type: "array", items: ref(item) },
  },
});

// ------------------------------------------------------------------ request fields

/** chainId: the EVM chain id as a JSON integer or, tolerated (Pay Protocol's WooCommerce plugin sends it so), a numeric string. */
export const chainIdField = {
  type: ["integer", "string"],
  minimum: 1,
  pattern: "^[1-9][0-9]{0,15}$",
  description: "EVM chain id (conf/list/chain): an integer, or a numeric string",
};
/** an integer id sent as a JSON integer or a numeric string */
export const intField = (description: string) => ({ type: ["integer", "string"], minimum: 1, pattern: "^[1-9][0-9]{0,17}$", description });
/** an order number or other merchant key: printable ASCII, no spaces */
export const keyField = (description: string) => ({
  type: "string",
  minLength: 1,
  maxLength: 128,
  pattern: "^[\\x21-\\x7E]+$",
  description,
});
export const httpUrl = { type: "string", minLength: 8, maxLength: 2048, pattern: "^https?://[^\\s/$.?#][^\\s]*$" };
export const decimalField = (description: string) => ({
  type: ["string", "number"],
  description: `${description}: a decimal string such as "10.00" (a JSON number is accepted too)`,
});
export const addressField = (description: string) => ({ type: "string", pattern: "^0x[0-9a-fA-F]{40}$", description });

// query strings are text: integers as digit strings
export const qInt = (description: string, max = 17) => ({ type: "string", pattern: `^[1-9][0-9]{0,${max}}$`, description });
export const qKey = keyField;

/** The query of every list route (reference 3.5): page, size, status filter, hash, creation-time range. */
export const listQuery = (statusText: string, extra: Record<string, unknown> = {}) => ({
  type: "object",
  additionalProperties: false,
  properties: {
    chainId: qInt("EVM chain id", 15),
    page: { type: "string", pattern: "^[1-9][0-9]{0,6}$", description: "1 .. 1000000, default 1" },
    size: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1 .. 500, default 10" },
    orderStatus: { type: "string", pattern: "^[0-9]$", description: statusText },
    status: { type: "string", pattern: "^[0-9]$", description: "the same as orderStatus (either name)" },
    transactionHash: { type: "string", pattern: "^(0x)?[0-9a-fA-F]{64}$", description: "only objects with a transfer of this hash" },
    startTime: { type: "string", pattern: "^[0-9]{1,12}$", description: "unix seconds: created at or after" },
    endTime: { type: "string", pattern: "^[0-9]{1,12}$", description: "unix seconds: created at or before" },
    ...extra,
  },
});
