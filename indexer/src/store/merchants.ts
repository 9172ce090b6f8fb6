import { randomBytes } from "node:crypto";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { SecretBox } from "../crypto/secretBox.js";
import { BaseError } from "../domain/errors.js";
import type { Db, Queryable } from "./db.js";

export type CreateMerchantParameters = {
  id?: bigint;
  name: string;
  feeBps?: number;
  payoutSigner?: string | null;
  payoutKeyMode?: "merchant" | "gateway";
  rechargeNotifyUrl?: string | null;
};

/** Returned once, at creation: the only time the secrets are shown. */
export type CreatedMerchant = {
  merchantId: bigint;
  apiKey: string;
  apiSecret: string;
  webhookSecret: string;
  /** the payout signer address to register in the vault (in gateway mode: of the key the gateway made) */
  payoutSigner: string | null;
  payoutKeyMode: "merchant" | "gateway";
};

/** A merchant's own choice conflicts with its payout key mode (e.g. a signer given for a gateway-held key). */
export class MerchantSetupError extends BaseError {
  override name = "MerchantSetupError";
}

const newApiKey = () => `pk_${randomBytes(12).toString("hex")}`;
const newApiSecret = () => `sk_${randomBytes(32).toString("hex")}`;
const newWebhookSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** Creates a merchant with one API key, an API secret and a webhook secret (both sealed at rest). */
/**
 * Creates a merchant with one API key, an API secret and a webhook secret (both sealed at rest). With
 * `payoutKeyMode: "gateway"` the gateway generates the payout signer key, keeps it sealed under the master
 * key (never shown, never logged) and returns its address, for the operator to register in the vault.
 */
export async function createMerchant(db: Db, box: SecretBox, p: CreateMerchantParameters): Promise<CreatedMerchant> {
  const apiKey = newApiKey();
  const apiSecret = newApiSecret();
  const webhookSecret = newWebhookSecret();
  const payoutKeyMode = p.payoutKeyMode ?? "merchant";
  let payoutSigner = p.payoutSigner?.toLowerCase() ?? null;
  let payoutKeySealed: Buffer | null = null;
  if (payoutKeyMode === "gateway") {
    if (payoutSigner)
      throw new MerchantSetupError("A gateway-held payout key makes its own signer: give no payout signer with payoutKeyMode gateway");
    const key = generatePrivateKey();
    payoutSigner = privateKeyToAccount(key).address.toLowerCase();
    payoutKeySealed = box.seal(key);
  }
  const merchantId = await db.transaction(async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO merchants (id, name, fee_bps, payout_signer, payout_key_mode, recharge_notify_url, webhook_secret_enc, payout_key_enc)
       VALUES (COALESCE($1::bigint, (SELECT COALESCE(MAX(id), 0) + 1 FROM merchants)), $2, $3, $4, $5, $6, $7, $8)
       RETURNING id`,
      [
        p.id ?? null,
        p.name,
        p.feeBps ?? 0,
        payoutSigner,
        payoutKeyMode,
        p.rechargeNotifyUrl ?? null,
        box.seal(webhookSecret),
        payoutKeySealed,
      ],
    );
    await insertApiKey(tx, BigInt(row!.id), apiKey, box.seal(apiSecret));
    return BigInt(row!.id);
  });
  return { merchantId, apiKey, apiSecret, webhookSecret, payoutSigner, payoutKeyMode };
}

/** Adds a new API key to a merchant and, if asked, revokes the others (key rotation). */
export async function rotateApiKey(
  db: Db,
  box: SecretBox,
  merchantId: bigint,
  { revokeOthers }: { revokeOthers: boolean },
): Promise<{ apiKey: string; apiSecret: string }> {
  const apiKey = newApiKey();
  const apiSecret = newApiSecret();
  await db.transaction(async (tx) => {
    if (revokeOthers) {
      await tx.query("UPDATE merchant_api_keys SET active = false, revoked_at = now() WHERE merchant_id = $1 AND active", [merchantId]);
    }
    await insertApiKey(tx, merchantId, apiKey, box.seal(apiSecret));
  });
  return { apiKey, apiSecret };
}

function insertApiKey(tx: Queryable, merchantId: bigint, keyId: string, sealed: Buffer) {
  return tx.query("INSERT INTO merchant_api_keys (key_id, merchant_id, secret_enc) VALUES ($1, $2, $3)", [keyId, merchantId, sealed]);
}

export type ApiKeyRecord = { keyId: string; merchantId: bigint; secret: string };

/** The active API key `keyId` with its secret opened, or null. */
export async function findApiKey(db: Queryable, box: SecretBox, keyId: string): Promise<ApiKeyRecord | null> {
  const [row] = await db.query<{ merchant_id: string; secret_enc: Uint8Array }>(
    "SELECT merchant_id, secret_enc FROM merchant_api_keys WHERE key_id = $1 AND active",
    [keyId],
  );
  if (!row) return null;
  return { keyId, merchantId: BigInt(row.merchant_id), secret: box.open(Buffer.from(row.secret_enc)) };
}

// ------------------------------------------------------------------ settings (merchant/settings routes)

export type MerchantSettings = {
  merchantId: bigint;
  name: string;
  feeBps: number;
  payoutSigner: string | null;
  payoutKeyMode: "merchant" | "gateway";
  /** whether the gateway holds the payout key (gateway mode with a key made) */
  gatewayKeyPresent: boolean;
  rechargeNotifyUrl: string | null;
  /** false: callbacks on the status changes Pay Protocol calls back on; true: on every status change and transfer event too */
  callbackAllEvents: boolean;
  /** `whsec_…` plus the secret's last 4 characters: enough to tell secrets apart, never the secret */
  webhookSecretHint: string;
  createdAt: Date;
};

/** The merchant's settings as the merchant may see them (no secret). */
export async function getMerchantSettings(db: Queryable, box: SecretBox, merchantId: bigint): Promise<MerchantSettings> {
  const [m] = await db.query("SELECT * FROM merchants WHERE id = $1", [merchantId]);
  if (!m) throw new MerchantSetupError(`No merchant ${merchantId}`);
  const secret = box.open(Buffer.from(m.webhook_secret_enc));
  return {
    merchantId: BigInt(m.id),
    name: m.name,
    feeBps: Number(m.fee_bps),
    payoutSigner: m.payout_signer,
    payoutKeyMode: m.payout_key_mode,
    gatewayKeyPresent: m.payout_key_enc != null,
    rechargeNotifyUrl: m.recharge_notify_url,
    callbackAllEvents: m.callback_all_events === true,
    webhookSecretHint: `whsec_…${secret.slice(-4)}`,
    createdAt: new Date(m.created_at),
  };
}

/**
 * Changes what a merchant may change itself: its display name, its recharge callback URL (`null` clears it)
 * and whether every event calls back. The fee, the payout signer and the key mode stay with the operator:
 * they must match the vault. Callbacks that were waiting for a URL are due at once.
 */
export async function updateMerchantSettings(
  db: Queryable,
  box: SecretBox,
  merchantId: bigint,
  p: { name?: string; rechargeNotifyUrl?: string | null; callbackAllEvents?: boolean },
): Promise<MerchantSettings> {
  await db.query(
    `UPDATE merchants SET name = CASE WHEN $2 THEN $3 ELSE name END,
       recharge_notify_url = CASE WHEN $4 THEN $5 ELSE recharge_notify_url END,
       callback_all_events = COALESCE($6, callback_all_events)
     WHERE id = $1`,
    [
      merchantId,
      p.name !== undefined,
      p.name ?? null,
      p.rechargeNotifyUrl !== undefined,
      p.rechargeNotifyUrl ?? null,
      p.callbackAllEvents ?? null,
    ],
  );
  if (p.rechargeNotifyUrl) {
    await db.query(
      "UPDATE outbox_events SET next_attempt_at = now() WHERE merchant_id = $1 AND waiting_reason IS NOT NULL AND delivered_at IS NULL",
      [merchantId],
    );
  }
  return getMerchantSettings(db, box, merchantId);
}

/** Replaces the webhook secret; the new `whsec_…` is returned once and stored sealed. */
export async function rotateWebhookSecret(db: Queryable, box: SecretBox, merchantId: bigint): Promise<string> {
  const secret = newWebhookSecret();
  await db.query("UPDATE merchants SET webhook_secret_enc = $2 WHERE id = $1", [merchantId, box.seal(secret)]);
  return secret;
}

/** The merchant's payout key mode (approval routes check it before looking the order up). */
export async function getPayoutKeyMode(db: Queryable, merchantId: bigint): Promise<"merchant" | "gateway"> {
  const [m] = await db.query<{ payout_key_mode: "merchant" | "gateway" }>("SELECT payout_key_mode FROM merchants WHERE id = $1", [
    merchantId,
  ]);
  return m?.payout_key_mode ?? "merchant";
}

/** What the operator's admin commands compare with the vault: the merchant's fee and payout signer. */
export async function getMerchantChainSettings(
  db: Queryable,
  merchantId: bigint,
): Promise<{ feeBps: number; payoutSigner: string | null } | null> {
  const [r] = await db.query<{ fee_bps: number; payout_signer: string | null }>(
    "SELECT fee_bps, payout_signer FROM merchants WHERE id = $1",
    [merchantId],
  );
  return r ? { feeBps: Number(r.fee_bps), payoutSigner: r.payout_signer } : null;
}

/** Records the payout signer registered in the vault for a merchant that had none; false if it already had one. */
export async function setPayoutSignerIfUnset(db: Queryable, merchantId: bigint, signer: string): Promise<boolean> {
  const rows = await db.query("UPDATE merchants SET payout_signer = $2 WHERE id = $1 AND payout_signer IS NULL RETURNING id", [
    merchantId,
    signer.toLowerCase(),
  ]);
  return rows.length === 1;
}

/** The operator changes a merchant's platform fee (the vault is changed by `admin set-fee` in the same command). */
export async function setMerchantFeeBps(db: Queryable, merchantId: bigint, feeBps: number): Promise<void> {
  await db.query("UPDATE merchants SET fee_bps = $2 WHERE id = $1", [merchantId, feeBps]);
}

/** The merchant's display name (payment/payInfo's orgName). */
export async function getMerchantName(db: Queryable, merchantId: bigint): Promise<string> {
  const [m] = await db.query<{ name: string }>("SELECT name FROM merchants WHERE id = $1", [merchantId]);
  return m?.name ?? "";
}
