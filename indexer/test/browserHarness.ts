/**
 * What the browser tests share (console.browser, consoleBatch.browser, payPage.browser): Debian's chromium
 * driven by playwright-core, an injected EIP-1193 wallet that signs with a hardhat account and forwards
 * everything else to a `hardhat node`, axe-core run through the DevTools protocol (so a page's CSP, which
 * forbids eval, stays as it is) and full-page screenshots.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { typedDataToSign } from "../../sdk/src/index.js";
import { hardhatAccount, type HardhatNode } from "./chainHarness.js";

export { until } from "./chainHarness.js";

export const CHROMIUM = "/usr/bin/chromium";
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };
/** axe-core's WCAG 2.0/2.1 A and AA rules and its best practices (the console's tests run these) */
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] as const;

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The `skip` of a describe: false when chromium is installed, else why the `what` cannot run. */
export function chromiumMissing(what: string): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the ${what}`;
}

/** Headless chromium, without the background traffic a desktop browser makes. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The private key of the hardhat node's account `i` (0 is the fixture's admin). */
export const hardhatKey = (i: number) => hardhatAccount(i).key;

/** Collects the page's CSP refusals and uncaught errors into `errors`: a page must run under its policy without any. */
export function watchPageErrors(page: Page, errors: string[]): void {
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
}

/** eth_signTypedData_v4's JSON as viem signs it (the SDK's converter: integers, also in arrays of structs, to bigints). */
export const typedFromWallet = (json: string) => typedDataToSign(JSON.parse(json));

export type TestWallet = {
  /** the account the wallet reports */
  account: Address;
  /** signs the sign-in message (personal_sign) */
  signMessage: (message: Hex) => Promise<Hex>;
  /** signs payouts (eth_signTypedData_v4), given viem's typed data */
  signTypedData?: (typed: ReturnType<typeof typedFromWallet>) => Promise<Hex>;
};

/** A wallet of one private key. */
export const eoaWallet = (a: LocalAccount): TestWallet => ({
  account: a.address,
  signMessage: (raw) => a.signMessage({ message: { raw } }),
  signTypedData: (typed) => a.signTypedData(typed as any),
});

/**
 * A desktop-sized page with an EIP-1193 `window.ethereum` on chain 31337 that signs as `wallet` and forwards
 * every other call to the node. `calls` lists the methods the page asked for; CSP refusals and script errors
 * go to `errors`; `acceptDialogs` answers the page's confirm() with yes.
 */
export async function walletPage(
  browser: Browser,
  o: { wallet: TestWallet; node: Pick<HardhatNode, "rpc">; errors: string[]; acceptDialogs?: boolean },
): Promise<{ page: Page; context: BrowserContext; calls: string[] }> {
  const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const calls: string[] = [];
  watchPageErrors(page, o.errors);
  if (o.acceptDialogs) page.on("dialog", (d) => void d.accept());
  await page.exposeFunction("__walletRpc", async (method: string, params: any[]) => {
    calls.push(method);
    try {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return { result: [o.wallet.account] };
        case "eth_chainId":
          return { result: "0x7a69" };
        case "personal_sign":
          return { result: await o.wallet.signMessage(params[0]) };
        case "eth_signTypedData_v4":
          return { result: await o.wallet.signTypedData!(typedFromWallet(params[1])) };
        default:
          return { result: await o.node.rpc(method, params) };
      }
    } catch (e) {
      return { error: { code: -32000, message: (e as Error).message } };
    }
  });
  await page.addInitScript(() => {
    const g = globalThis as unknown as {
      __walletRpc(m: string, p: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }>;
      ethereum: unknown;
    };
    g.ethereum = {
      isTestWallet: true,
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const r = await g.__walletRpc(method, params ?? []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.result;
      },
      on() {},
      removeListener() {},
    };
  });
  return { page, context, calls };
}

/**
 * axe-core's violations on the page as it is now, each as "label: rule (impact) at targets". It runs through
 * the DevTools protocol, so it works under a CSP that forbids eval. `tags` limits the rules (default: axe's
 * own default set).
 */
export async function checkAxe(page: Page, label: string, o: { tags?: readonly string[] } = {}): Promise<string[]> {
  const options = JSON.stringify({ resultTypes: ["violations"], ...(o.tags ? { runOnly: { type: "tag", values: o.tags } } : {}) });
  const expression = `${AXE};axe.run(document, ${options}).then((r) => JSON.stringify(r.violations.map((v) => ({
    id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }))))`;
  const cdp = await page.context().newCDPSession(page);
  try {
    const r = (await cdp.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value?: string };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`axe failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    const violations = JSON.parse(r.result.value!) as { id: string; impact: string; nodes: string[] }[];
    return violations.map((v) => `${label}: ${v.id} (${v.impact}) at ${v.nodes.join(", ")}`);
  } finally {
    await cdp.detach();
  }
}

/** A full-page screenshot at `dir/name.png` (the directory made if missing). */
export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/**
 * The page at phone and then desktop size: at each, axe-core's WCAG A/AA and best-practice rules and a
 * screenshot `name-phone.png`, `name-desktop.png` in `dir`. Returns the violations ("name (size): …").
 */
export async function axeAndShoot(page: Page, dir: string, name: string): Promise<string[]> {
  const violations: string[] = [];
  for (const [size, viewport] of [
    ["phone", PHONE],
    ["desktop", DESKTOP],
  ] as const) {
    await page.setViewportSize(viewport);
    violations.push(...(await checkAxe(page, `${name} (${size})`, { tags: WCAG_TAGS })));
    await screenshot(page, dir, `${name}-${size}`);
  }
  return violations;
}
