/** JSON Schemas shared by the routes (Fastify compiles them for validation and serialisation). */

export const envelope = (data: object) => ({
  type: "object",
  required: ["code", "msg", "data"],
  properties: { code: { type: "integer" }, msg: { type: "string" }, data },
});

export const errorEnvelope = {
  type: "object",
  required: ["code", "msg", "data"],
  properties: { code: { type: "integer" }, msg: { type: "string" }, data: { type: "null" } },
};

/** The error responses every authenticated route can give. */
export const errorResponses = {
  "4xx": errorEnvelope,
  "5xx": errorEnvelope,
};

export const idString = { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_.:-]+$" };
export const httpUrl = { type: "string", minLength: 8, maxLength: 2048, pattern: "^https?://[^\\s/$.?#][^\\s]*$" };
export const humanAmount = { type: "string", minLength: 1, maxLength: 100, pattern: "^[0-9]+(\\.[0-9]+)?$" };
export const nullableString = { type: ["string", "null"] };
