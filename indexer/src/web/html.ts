/** HTML escaping for everything the pages interpolate: text, attribute values (always double-quoted). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/**
 * The pages' security headers. Scripts and styles come only from our own /assets files (no inline code,
 * so an injected string can never run); the only network access allowed is our own status endpoint.
 * `no-referrer`: the pay URL carries the accessSign and must not leak to the merchant's redirect target.
 */
export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

export type LayoutParameters = {
  title: string;
  assetBase: string;
  body: string;
  scripts?: boolean;
  /** the page's language (BCP 47), default "en" */
  lang?: string;
};

/** The shared page shell: viewport meta for phones, our stylesheet, optionally our script. */
export function layout({ title, assetBase, body, scripts = false, lang = "en" }: LayoutParameters): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${escapeHtml(assetBase)}/pay.css">
${scripts ? `<script src="${escapeHtml(assetBase)}/pay.js" defer></script>` : ""}
</head>
<body>
${body}
</body>
</html>`;
}
