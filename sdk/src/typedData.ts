/**
 * EIP-712 typed data as the gateway hands it out (a line's `payoutTypedData`, `payout/batch/typedData`'s
 * `payoutTypedData`): JSON, so every integer is a string. Signing libraries want integers as bigints:
 * `typedDataToSign` turns each `uint*`/`int*` field back, nested structs and arrays included (a batch's
 * `payouts`), and the domain's chainId into a number. The result goes straight to viem's
 * `signTypedData`, ethers' `signTypedData(domain, types, message)` or `eth_signTypedData_v4`.
 */

/** Typed data with integers written as decimal strings (or numbers). */
export type TypedDataJson = {
  domain: { name: string; version: string; chainId: number | string; verifyingContract: string };
  types: Record<string, readonly { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, unknown>;
};

/** The same typed data with bigint integers, ready to sign. `types` leaves out `EIP712Domain` (signers derive it). */
export type TypedDataToSign = {
  domain: { name: string; version: string; chainId: number; verifyingContract: `0x${string}` };
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, unknown>;
};

export function typedDataToSign(t: TypedDataJson): TypedDataToSign {
  const { EIP712Domain: _domain, ...structs } = t.types;
  const types = Object.fromEntries(Object.entries(structs).map(([k, fields]) => [k, fields.map((f) => ({ ...f }))]));
  const convert = (type: string, value: unknown): unknown => {
    if (type.endsWith("]")) return (value as unknown[]).map((v) => convert(type.slice(0, type.lastIndexOf("[")), v));
    const fields = types[type];
    if (fields) {
      const o = value as Record<string, unknown>;
      return Object.fromEntries(fields.map((f) => [f.name, convert(f.type, o[f.name])]));
    }
    return /^u?int\d*$/.test(type) ? BigInt(value as string | number | bigint) : value;
  };
  if (!types[t.primaryType]) throw new TypeError(`typed data: primaryType ${t.primaryType} is not among its types`);
  return {
    domain: { ...t.domain, chainId: Number(t.domain.chainId), verifyingContract: t.domain.verifyingContract as `0x${string}` },
    types,
    primaryType: t.primaryType,
    message: convert(t.primaryType, t.message) as Record<string, unknown>,
  };
}
