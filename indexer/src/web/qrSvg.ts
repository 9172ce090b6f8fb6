import QRCode from "qrcode";

/**
 * An SVG QR code of `text`, rendered on the server (no script or image request on the page). The SVG
 * uses presentation attributes only, so it is allowed under the pages' `style-src 'self'`.
 */
export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
