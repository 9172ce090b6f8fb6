/** Fiat quotes from on-chain price feeds. See the README's "Fiat pricing" section. */
export { chainPricingSchema, currencyDecimals, parseChainPricing, type ChainPricingConfig, type ChainPricingInput } from "./config.js";
export { QuoteError, type QuoteRefusal } from "./errors.js";
export { aggregatorV3Abi, createFeedReader, type FeedReader, type FeedRound } from "./feeds.js";
export { createQuoter, checkRound, type Quote, type QuoteParameters, type QuoteSource, type Quoter, type Rate } from "./quoter.js";
export { minimumAccepted, paidWithinTolerance, MAX_TOLERANCE_BPS } from "./tolerance.js";
