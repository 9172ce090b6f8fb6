import { keccak256, parseAbi, toHex, type Hex } from "viem";

/**
 * The PaymentVault functions the doctor reads and the admin commands call: roles (OpenZeppelin
 * AccessControl), merchants, the token allowlist, pausing. The service does not read Hardhat artifacts at
 * run time, so these are written here; `indexer/test/doctor.test.ts` checks each one against the compiled
 * PaymentVault, so a change of the contract fails that test rather than a doctor run.
 */
export const VAULT_ADMIN_ABI = parseAbi([
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function grantRole(bytes32 role, address account)",
  "function revokeRole(bytes32 role, address account)",
  "function merchant(uint64 merchantId) view returns ((address signer, uint16 feeBps, uint40 payoutBase, uint40 payoutBits))",
  "function registerMerchant(uint64 merchantId, address signer, uint16 feeBps)",
  "function setMerchantFee(uint64 merchantId, uint16 feeBps)",
  "function setMerchantSigner(uint64 merchantId, address newSigner)",
  "function isTokenAllowed(address token) view returns (bool)",
  "function setTokenAllowed(address token, bool allowed)",
  "function paused() view returns (bool)",
  "function MAX_FEE_BPS() view returns (uint16)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error VaultInvalidMerchantId()",
  "error VaultMerchantExists(uint64 merchantId)",
  "error VaultUnknownMerchant(uint64 merchantId)",
  "error VaultZeroAddress(string what)",
  "error VaultFeeTooHigh(uint16 feeBps, uint16 maxFeeBps)",
  "error VaultTooManyTokens(uint256 maxTokens)",
  "error VaultNotMerchantSigner(uint64 merchantId, address caller)",
]);

/** The vault's roles by the names the admin command takes. */
export const VAULT_ROLES = {
  admin: "0x0000000000000000000000000000000000000000000000000000000000000000",
  "merchant-admin": keccak256(toHex("MERCHANT_ADMIN_ROLE")),
  operator: keccak256(toHex("OPERATOR_ROLE")),
  pauser: keccak256(toHex("PAUSER_ROLE")),
} as const satisfies Record<string, Hex>;

export type VaultRole = keyof typeof VAULT_ROLES;
