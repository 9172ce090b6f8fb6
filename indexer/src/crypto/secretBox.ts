import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { BaseError } from "../domain/errors.js";

/**
 * Encrypts secrets the gateway must be able to read back (API secrets are HMAC keys, so they cannot be
 * hashed): AES-256-GCM under the 32-byte master key. Stored form: iv (12) | tag (16) | ciphertext.
 */
export type SecretBox = {
  seal(plaintext: string): Buffer;
  open(sealed: Buffer): string;
};

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new BaseError("The master key must be 32 bytes (64 hex characters)");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", masterKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    open(sealed) {
      try {
        const decipher = createDecipheriv("aes-256-gcm", masterKey, sealed.subarray(0, 12));
        decipher.setAuthTag(sealed.subarray(12, 28));
        return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
      } catch (cause) {
        throw new BaseError("A stored secret could not be decrypted: is GATEWAY_MASTER_KEY the one it was sealed with?", {
          cause,
        });
      }
    },
  };
}
