import { randomBytes } from "node:crypto";
import type { SecretBox } from "../crypto/secretBox.js";
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
};

const newApiKey = () => `pk_${randomBytes(12).toString("hex")}`;
const newApiSecret = () => `sk_${randomBytes(32).toString("hex")}`;
const newWebhookSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** Creates a merchant with one API key, an API secret and a webhook secret (both sealed at rest). */
export async function createMerchant(db: Db, box: SecretBox, p: CreateMerchantParameters): Promise<CreatedMerchant> {
  const apiKey = newApiKey();
  const apiSecret = newApiSecret();
  const webhookSecret = newWebhookSecret();
  const merchantId = await db.transaction(async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO merchants (id, name, fee_bps, payout_signer, payout_key_mode, recharge_notify_url, webhook_secret_enc)
       VALUES (COALESCE($1::bigint, (SELECT COALESCE(MAX(id), 0) + 1 FROM merchants)), $2, $3, $4, $5, $6, $7)
       RETURNING id`,
      [
        p.id ?? null,
        p.name,
        p.feeBps ?? 0,
        p.payoutSigner?.toLowerCase() ?? null,
        p.payoutKeyMode ?? "merchant",
        p.rechargeNotifyUrl ?? null,
        box.seal(webhookSecret),
      ],
    );
    await insertApiKey(tx, BigInt(row!.id), apiKey, box.seal(apiSecret));
    return BigInt(row!.id);
  });
  return { merchantId, apiKey, apiSecret, webhookSecret };
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
      await tx.query("UPDATE merchant_api_keys SET active = false, revoked_at = now() WHERE merchant_id = $1 AND active", [
        merchantId,
      ]);
    }
    await insertApiKey(tx, merchantId, apiKey, box.seal(apiSecret));
  });
  return { apiKey, apiSecret };
}

function insertApiKey(tx: Queryable, merchantId: bigint, keyId: string, sealed: Buffer) {
  return tx.query("INSERT INTO merchant_api_keys (key_id, merchant_id, secret_enc) VALUES ($1, $2, $3)", [
    keyId,
    merchantId,
    sealed,
  ]);
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
