import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { BaseError } from "../domain/errors.js";

/**
 * SSRF guard: a merchant chooses its notify URL, so without this check it could aim the gateway's POSTs
 * at the gateway's own network (metadata services, databases, admin ports). Targets are checked by the
 * address the connection really uses (a custom DNS lookup), so a name that resolves to a private address
 * (or is re-pointed after an earlier check) is refused too.
 */
export class WebhookTargetRefusedError extends BaseError {
  override name = "WebhookTargetRefusedError";
}

const v4 = new BlockList();
const v6 = new BlockList();
const RANGES_V4: [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "CGNAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];
const RANGES_V6: [string, number, string][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["100::", 64, "discard"],
  ["2001:db8::", 32, "documentation"],
  ["fc00::", 7, "private (unique local)"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
];
const reasonV4 = new Map<string, BlockList>();
const reasonV6 = new Map<string, BlockList>();
for (const [net, prefix, why] of RANGES_V4) {
  v4.addSubnet(net, prefix, "ipv4");
  if (!reasonV4.has(why)) reasonV4.set(why, new BlockList());
  reasonV4.get(why)!.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix, why] of RANGES_V6) {
  v6.addSubnet(net, prefix, "ipv6");
  if (!reasonV6.has(why)) reasonV6.set(why, new BlockList());
  reasonV6.get(why)!.addSubnet(net, prefix, "ipv6");
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4), if any. */
function embeddedV4(ip: string): string | null {
  const groups = expandV6(ip);
  if (!groups) return null;
  const v4of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zero(0, 5) && groups[5] === 0xffff) return v4of(groups[6]!, groups[7]!); // ::ffff:a.b.c.d
  if (zero(0, 6) && (groups[6] !== 0 || groups[7]! > 1)) return v4of(groups[6]!, groups[7]!); // ::a.b.c.d
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) return v4of(groups[6]!, groups[7]!); // 64:ff9b::/96
  if (groups[0] === 0x2002) return v4of(groups[1]!, groups[2]!); // 6to4
  return null;
}

/** Eight 16-bit groups of an IPv6 address (dotted IPv4 tail allowed), or null. */
function expandV6(ip: string): number[] | null {
  let s = ip.split("%")[0]!.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = s.includes("::") ? 8 - h.length - t.length : 0;
  const all = [...h, ...Array(fill).fill("0"), ...t].map((g) => parseInt(g, 16));
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : null;
}

/** Why `ip` is not a public unicast address ("loopback", "private", …), or null when it is public. */
export function blockedReason(ip: string): string | null {
  const family = isIP(ip);
  if (family === 4) {
    if (!v4.check(ip, "ipv4")) return null;
    for (const [why, list] of reasonV4) if (list.check(ip, "ipv4")) return why;
    return "reserved";
  }
  if (family === 6) {
    const inner = embeddedV4(ip);
    if (inner) {
      const why = blockedReason(inner);
      return why ? `${why} (IPv4 ${inner} inside IPv6)` : null;
    }
    if (!v6.check(ip, "ipv6")) return null;
    for (const [why, list] of reasonV6) if (list.check(ip, "ipv6")) return why;
    return "reserved";
  }
  return "not an IP address";
}

const refusal = (host: string, ip: string, why: string) =>
  new WebhookTargetRefusedError(
    `Notify URL host "${host}" resolves to ${ip} (${why}): refused, webhooks go to public addresses only (operator setting allowPrivateWebhookTargets allows private ones)`,
  );

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for `http.request({ lookup })`: resolves every address of the name and
 * refuses the connection when any of them is not public.
 */
export function guardedLookup(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void {
  const cb = (typeof options === "function" ? options : callback)!;
  const opts: LookupOptions = typeof options === "object" ? options : typeof options === "number" ? { family: options } : {};
  dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
    if (err) return cb(err, []);
    for (const a of addresses) {
      const why = blockedReason(a.address);
      if (why) return cb(refusal(hostname, a.address, why) as NodeJS.ErrnoException, []);
    }
    if (opts.all) return cb(null, addresses);
    cb(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** Throws {@link WebhookTargetRefusedError} when a literal-IP host is not public (no DNS is asked). */
export function checkLiteralHost(hostname: string): void {
  const ip = hostname.replace(/^\[|\]$/g, "");
  if (isIP(ip)) {
    const why = blockedReason(ip);
    if (why) throw refusal(hostname, ip, why);
  }
}

/**
 * Checks a notify URL before it is stored (order creation): http(s) only, no credentials, and, unless
 * `allowPrivate`, a public host: a literal IP must be public, `localhost` names are refused, and with
 * `resolve` (default true) every DNS answer must be public. Throws {@link WebhookTargetRefusedError} (not
 * retryable) with a message for the merchant; a failed DNS lookup throws a retryable one. Delivery checks
 * again at connection time, so this is an early answer, not the guard itself: the API checks without DNS
 * (no lookup on the create path; a name re-pointed later would pass a lookup now anyway).
 */
export async function checkNotifyUrl(
  url: string,
  { allowPrivate = false, resolve = true }: { allowPrivate?: boolean; resolve?: boolean } = {},
): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebhookTargetRefusedError(`Notify URL "${url}" is not a valid absolute URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new WebhookTargetRefusedError(`Notify URL must be http:// or https://, not ${u.protocol}`);
  if (u.username || u.password) throw new WebhookTargetRefusedError("Notify URL must not carry a user name or password");
  if (allowPrivate) return;
  checkLiteralHost(u.hostname);
  if (isIP(u.hostname.replace(/^\[|\]$/g, ""))) return;
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) {
    throw new WebhookTargetRefusedError(
      `Notify URL host "${u.hostname}" is loopback: use a public host (or set allowPrivateWebhookTargets on a test gateway)`,
    );
  }
  if (!resolve) return;
  await new Promise<void>((ok, reject) =>
    guardedLookup(u.hostname, {}, (err) => {
      if (!err) return ok();
      if (err instanceof WebhookTargetRefusedError) return reject(err);
      reject(
        new WebhookTargetRefusedError(`Notify URL host "${u.hostname}" does not resolve (${err.code ?? err.message})`, { retryable: true }),
      );
    }),
  );
}
