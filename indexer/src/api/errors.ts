/** The API's error codes and envelope errors live in the wire module; re-exported for the pay page and older imports. */
export { ApiError, ErrorCode, toApiError } from "../wire/errors.js";
