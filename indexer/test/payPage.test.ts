/**
 * The hosted payment page and the static merchant QR over real HTTP (PGlite): the accessSign check, what
 * the page and its status endpoint show, escaping, headers, and the typed-amount flow of a merchant QR.
 * The browser run (paying from the page) is payPage.browser.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { createMerchant, type CreatedMerchant } from "../src/store/merchants.js";
import { readFileSync } from "node:fs";
import { messagesFor, translator } from "../src/web/i18n.js";
import { paymentUri } from "../src/web/paymentUri.js";
import { checkAmount } from "../src/web/payPageRoutes.js";
import { resolveConfig } from "../src/config.js";
import { PG_URL, USDT, call, postgresReachable, startGateway, tableCounts, testConfig, type Backend, type TestGateway } from "./helpers.js";

const pg = await postgresReachable();
for (const backend of ["pglite", "postgres"] as Backend[]) {
  describe(
    `hosted payment page (${backend})`,
    { skip: backend === "postgres" && !pg ? `PostgreSQL not reachable at ${PG_URL}` : false },
    () => {
      let gw: TestGateway;
      let A: CreatedMerchant;
      let evil: CreatedMerchant;
      let seq = 0;
      /** an order through the API, in the names the page's URL uses (payOrderId = outPaymentNo, merchantOrderId = outTradeNo) */
      const create = async (m: CreatedMerchant, over: { merchantOrderId?: string } = {}) => {
        const res = await call(gw, m, "POST", "payment/createPaymentOrder", {
          outTradeNo: over.merchantOrderId ?? `page-${++seq}`,
          chainId: 31337,
          quoteCurrencySymbol: "USDT",
          quoteAmount: "12.5",
          notifyUrl: "https://shop.example.test/notify",
          redirectionUrl: "https://shop.example.test/done?x=1",
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const d = res.body.data;
        return {
          payOrderId: d.outPaymentNo,
          merchantOrderId: d.outTradeNo,
          receiptAddress: d.userWalletAddress,
          paymentUrl: d.paymentLink,
          accessSign: d.accessSign,
          expireAtSeconds: Date.parse(`${d.expireTime.replace(" ", "T")}Z`) / 1000,
        };
      };
      const local = (paymentUrl: string) => {
        const u = new URL(paymentUrl);
        return `${gw.url}${u.pathname}${u.search}`;
      };
      const get = (url: string) => fetch(url, { redirect: "manual" });

      before(async () => {
        gw = await startGateway(backend);
        A = gw.merchants[0]!;
        evil = await createMerchant(gw.db, createSecretBox(gw.config.masterKey), { name: `<script>alert("x")</script>&Co` });
      });
      after(async () => {
        await gw?.close();
      });

      it("shows amount, token, network, address, EIP-681 QR and strict headers for a valid link", async () => {
        const o = await create(A);
        const res = await get(local(o.paymentUrl));
        assert.equal(res.status, 200);
        const csp = res.headers.get("content-security-policy")!;
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /script-src 'self'(;|$)/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.equal(res.headers.get("referrer-policy"), "no-referrer");
        const html = await res.text();
        assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
        assert.match(html, /id="amount">12\.5</);
        assert.match(html, /class="symbol">USDT</);
        assert.match(html, /id="network">Hardhat \(chain 31337\)</);
        assert.ok(html.includes(`<code id="receipt">${o.receiptAddress}</code>`));
        assert.match(html, /<svg[^>]*viewBox/);
        const uri = `ethereum:${USDT}@31337/transfer?address=${o.receiptAddress}&uint256=12500000`;
        assert.ok(html.includes(`href="${uri.replace(/&/g, "&amp;")}"`), "the wallet link is the EIP-681 URI");
        assert.doesNotMatch(html, /<script>(?!<\/script>)/, "no inline script");
        assert.equal(
          paymentUri({ chainId: 1, token: "0x0000000000000000000000000000000000000000", receipt: "0xabc", amount: 5n }),
          "ethereum:0xabc@1?value=5",
        );
      });

      it("a wrong, missing or mismatched accessSign shows nothing of the order (404 link invalid)", async () => {
        const o = await create(A);
        const u = new URL(local(o.paymentUrl));
        const variants: string[] = [];
        const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
        for (const [k, v] of [
          ["accessSign", flip(o.accessSign)],
          ["accessSign", ""],
          ["accessSign", "<x>"],
          ["merchantOrderId", "other"],
          ["chainCode", "polygon"],
          ["payOrderId", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
        ]) {
          const w = new URL(u);
          w.searchParams.set(k!, v!);
          variants.push(w.toString());
        }
        const noSign = new URL(u);
        noSign.searchParams.delete("accessSign");
        variants.push(noSign.toString());
        for (const url of variants) {
          const res = await get(url);
          assert.equal(res.status, 404, url);
          const html = await res.text();
          assert.match(html, /Link invalid/);
          for (const secret of [o.receiptAddress, o.merchantOrderId, "12.5", "Shop A"])
            assert.ok(!html.includes(secret), `${url} leaks ${secret}`);
        }
        const status = await get(`${gw.url}/pay/status?payOrderId=${o.payOrderId}&accessSign=${flip(o.accessSign)}`);
        assert.equal(status.status, 404);
        assert.ok(!(await status.text()).includes(o.receiptAddress));
      });

      it("the status endpoint reports unpaid, underpaid with what is missing, and success with the redirect", async () => {
        const o = await create(A);
        const statusUrl = `${gw.url}/pay/status?payOrderId=${o.payOrderId}&accessSign=${o.accessSign}`;
        let s = (await (await get(statusUrl)).json()) as any;
        assert.equal(s.state, 0);
        assert.equal(s.dueAmount, "12500000");
        assert.equal(s.redirectUrl, null);
        assert.equal(Math.floor(s.expireAt / 1000), o.expireAtSeconds);
        assert.equal(Object.hasOwn(s, "notifyUrl"), false, "only what the page needs");
        const move = (event: any) =>
          applyPaymentEvent(gw.db, { merchantId: A.merchantId, ref: { payOrderId: o.payOrderId }, event, poolCooldownSeconds: 60 });
        await move({ type: "transferSeen", amount: 2_500_000n });
        s = await (await get(statusUrl)).json();
        assert.equal(s.state, 1);
        assert.equal(s.display.seenAmount, "2.5");
        assert.equal(s.display.dueAmount, "10");
        await move({ type: "transferSeen", amount: 10_000_000n });
        await move({ type: "transferConfirmed", amount: 12_500_000n });
        s = await (await get(statusUrl)).json();
        assert.equal(s.state, 4);
        const r = new URL(s.redirectUrl);
        assert.equal(r.origin + r.pathname, "https://shop.example.test/done");
        assert.equal(r.searchParams.get("x"), "1");
        assert.equal(r.searchParams.get("payOrderId"), o.payOrderId);
        assert.equal(r.searchParams.get("accessSign"), null);
      });

      it("escapes everything it interpolates", async () => {
        const o = await create(evil, { merchantOrderId: "a<b>&\"c'".replace(/[^A-Za-z0-9_.:-]/g, "_") });
        const html = await (await get(local(o.paymentUrl))).text();
        assert.ok(!html.includes(`<script>alert`));
        assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;Co"));
      });

      it("serves its script and stylesheet from its own origin", async () => {
        const js = await get(`${gw.url}/pay/assets/pay.js`);
        assert.equal(js.status, 200);
        assert.match(js.headers.get("content-type")!, /javascript/);
        assert.match(await js.text(), /eth_requestAccounts/);
        assert.equal((await get(`${gw.url}/pay/assets/nope.js`)).status, 404);
      });

      it("a static merchant QR makes a payment order from a typed amount and redirects to its page", async () => {
        const res = await call(gw, A, "POST", "qrcode/create", {
          label: "Counter 1",
          chainId: 31337,
          currencyId: 2,
          notifyUrl: "https://shop.example.test/qr-notify",
          maxAmount: "1000",
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const qr = res.body.data;
        assert.match(qr.code, /^[A-Za-z0-9_-]{22}$/);
        assert.equal(qr.url, `https://pay.example.test/pay/m/${qr.code}`);
        assert.match(qr.qrSvg, /^<svg/);
        const again = await call(
          gw,
          A,
          "POST",
          "qrcode/create",
          {
            label: "Counter 1",
            chainId: 31337,
            currencyId: 2,
            notifyUrl: "https://shop.example.test/qr-notify",
            maxAmount: "1000",
          },
          { timestamp: String(Math.floor(Date.now() / 1000) + 1) },
        );
        assert.equal(again.body.data.code, qr.code, "same label and parameters: same code");
        const conflict = await call(gw, A, "POST", "qrcode/create", {
          label: "Counter 1",
          chainId: 31337,
          currencyId: 1,
          notifyUrl: "https://shop.example.test/qr-notify",
        });
        assert.equal(conflict.status, 409);

        const link = `${gw.url}/pay/m/${qr.code}`;
        const form = await (await get(link)).text();
        assert.match(form, /Counter 1/);
        const ref = /name="ref" value="([0-9A-Z]{26})"/.exec(form)![1]!;
        const post = (amount: string, r = ref) =>
          fetch(link, {
            method: "POST",
            redirect: "manual",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ amount, ref: r }).toString(),
          });
        const before = await tableCounts(gw.db);
        for (const bad of ["0", "-1", "1.1234567", "1e3", "1000.000001", "abc", "", " 1 2", "00.5", "1001"]) {
          const r = await post(bad);
          assert.equal(r.status, 400, bad);
          assert.match(await r.text(), /class="error"/);
        }
        assert.deepEqual(await tableCounts(gw.db), before, "bad amounts change no row");
        assert.equal((await post("5", "not-a-ref")).status, 400);

        const ok = await post("7.25");
        assert.equal(ok.status, 303);
        const pay = new URL(ok.headers.get("location")!);
        assert.equal(pay.origin + pay.pathname, "https://pay.example.test/pay");
        const payOrderId = pay.searchParams.get("payOrderId")!;
        const detail = await call(gw, A, "GET", "payment/detail", { outPaymentNo: payOrderId });
        assert.equal(detail.body.data.quoteAmount, "7.25");
        assert.equal(detail.body.data.expectedAmount, "7250000");
        assert.equal(detail.body.data.notifyUrl, "https://shop.example.test/qr-notify");
        assert.equal(detail.body.data.outTradeNo, `qr:${qr.code}:${ref}`);
        const page = await get(`${gw.url}${pay.pathname}${pay.search}`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /id="amount">7\.25</);
        // a double submit of the same form finds the same order
        const twice = await post("7.25");
        assert.equal(new URL(twice.headers.get("location")!).searchParams.get("payOrderId"), payOrderId);
        assert.equal((await get(`${gw.url}/pay/m/AAAAAAAAAAAAAAAAAAAAAA`)).status, 404);
      });

      it("speaks the payer's language: Accept-Language, then ?lang= remembered in a cookie, with a switch", async () => {
        const o = await create(A);
        const zh = await fetch(local(o.paymentUrl), { headers: { "accept-language": "zh-CN,zh;q=0.9,en;q=0.8" } });
        const html = await zh.text();
        assert.match(html, /<html lang="zh-CN">/);
        assert.match(html, /<h1 class="merchant">向 Shop A 付款<\/h1>/);
        assert.match(html, /<title>向 Shop A 支付 12\.5 USDT<\/title>/);
        assert.match(html, /只能通过 Hardhat 发送 USDT/);
        assert.equal(zh.headers.get("set-cookie"), null, "a header alone sets no cookie");
        // the switch links the same order in each language, the current one marked
        const links = [...html.matchAll(/<a href="([^"]+)" lang="([^"]+)" hreflang="[^"]+"( aria-current="page")?>/g)];
        assert.deepEqual(
          links.map((m) => [m[2], Boolean(m[3])]),
          [
            ["en", false],
            ["zh-CN", true],
          ],
        );
        const en = new URL(links[0]![1]!.replace(/&amp;/g, "&"), gw.url);
        assert.equal(en.searchParams.get("payOrderId"), o.payOrderId);
        assert.equal(en.searchParams.get("lang"), "en");
        const chosen = await fetch(en, { headers: { "accept-language": "zh-CN" } });
        assert.match(await chosen.text(), /<html lang="en">/);
        const cookie = chosen.headers.get("set-cookie")!;
        assert.match(cookie, /^pay_lang=en; Path=\/pay; Max-Age=31536000; SameSite=Lax$/);
        const remembered = await fetch(local(o.paymentUrl), { headers: { "accept-language": "zh-CN", cookie: "pay_lang=en" } });
        assert.match(await remembered.text(), /<h1 class="merchant">Payment to Shop A<\/h1>/);
        // the script's strings and the first status travel as JSON in data- attributes, in the same language
        const unescape = (v: string) =>
          v
            .replace(/&quot;/g, '"')
            .replace(/&#39;/g, "'")
            .replace(/&lt;/g, "<")
            .replace(/&gt;/g, ">")
            .replace(/&amp;/g, "&");
        const data = (name: string) => JSON.parse(unescape(new RegExp(`data-${name}="([^"]*)"`).exec(html)![1]!));
        assert.equal(data("messages").stateUnpaid, "等待付款");
        assert.equal(data("messages").copy, "复制");
        assert.equal(data("status").state, 0);
        // an invalid link in Chinese, echoing nothing of the link in its switch
        const bad = await fetch(`${gw.url}/pay?payOrderId=${o.payOrderId}&accessSign=00&lang=zh-CN`);
        const badHtml = await bad.text();
        assert.equal(bad.status, 404);
        assert.match(badHtml, /<h1>链接无效<\/h1>/);
        assert.ok(!badHtml.includes(o.payOrderId));
      });

      it("every catalog has every pay string, and every string the script asks for exists", () => {
        const en = messagesFor("en", "pay");
        const zh = messagesFor("zh-CN", "pay");
        assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
        for (const [k, v] of Object.entries(zh)) assert.notEqual(v, en[k as keyof typeof en], `zh-CN.pay.${k} is not translated`);
        const js = readFileSync(new URL("../src/web/assets/pay.js", import.meta.url), "utf8");
        const keys = new Set([...js.matchAll(/\bt\("(\w+)"/g)].map((m) => m[1]!));
        for (const m of js.matchAll(/"(state\w+)"/g)) keys.add(m[1]!);
        assert.ok(keys.size > 30, `found ${keys.size} keys in pay.js`);
        const known = { ...messagesFor("en", "common"), ...en };
        for (const k of keys) assert.ok(k in known, `pay.js asks for "${k}", which no catalog has`);
      });

      it("the status shows a way back on closed orders and the transfers seen", async () => {
        const o = await create(A);
        const statusUrl = `${gw.url}/pay/status?payOrderId=${o.payOrderId}&accessSign=${o.accessSign}`;
        let s = (await (await get(statusUrl)).json()) as any;
        assert.equal(s.shopUrl, null, "an open order has no way back but paying");
        assert.deepEqual(s.transfers, []);
        const tx = `0x${"ab".repeat(32)}`;
        await gw.db.query(
          `INSERT INTO payment_transfers (chain_id, tx_hash, log_index, pay_order_id, token, from_address, to_address, amount, block_number, kind, late)
           VALUES (31337, $1, 0, $2, $3, '0x1111111111111111111111111111111111111111', $4, 2500000, 7, 'payment', false)`,
          [tx, o.payOrderId, USDT.toLowerCase(), o.receiptAddress.toLowerCase()],
        );
        await applyPaymentEvent(gw.db, {
          merchantId: A.merchantId,
          ref: { payOrderId: o.payOrderId },
          event: { type: "transferSeen", amount: 2_500_000n },
          poolCooldownSeconds: 60,
        });
        s = await (await get(statusUrl)).json();
        assert.deepEqual(
          s.transfers.map((t: any) => [t.txHash, t.amount, t.kind, t.status, t.late]),
          [[tx, "2.5", "payment", "seen", false]],
        );
        const c = await create(A);
        assert.equal((await call(gw, A, "POST", "payment/cancel", { outPaymentNo: c.payOrderId })).status, 200);
        s = await (await get(`${gw.url}/pay/status?payOrderId=${c.payOrderId}&accessSign=${c.accessSign}`)).json();
        assert.equal(s.state, -3);
        assert.equal(s.redirectUrl, null, "only success redirects by itself");
        const back = new URL(s.shopUrl);
        assert.equal(back.origin + back.pathname, "https://shop.example.test/done");
        assert.equal(back.searchParams.get("state"), "-3");
        assert.equal(typeof s.closedAt, "number");
      });

      it("checkAmount is strict about decimals, zero and the maximum", () => {
        assert.match(checkAmount("1.0000001", 6, null, "USDT", translator("zh-CN", "pay"))!, /USDT 有 6 位小数/);
        assert.equal(checkAmount("1.5", 6, null, "USDT"), null);
        assert.match(checkAmount("1.0000001", 6, null, "USDT")!, /6 decimals/);
        assert.match(checkAmount("0.000", 6, null, "USDT")!, /greater than zero/);
        assert.match(checkAmount("2", 0, 1n, "X")!, /maximum of 1 X/);
        assert.match(checkAmount("+1", 6, null, "USDT")!, /digits/);
      });
    },
  );
}

// the payer's choice (payment/payInfo/update from the page): USDT is accepted on a second chain too
describe("hosted payment page: the payer switches network", () => {
  let gw: TestGateway;
  const USDT_137 = "0x00000000000000000000000000000000000000c2";
  const local = (link: string) =>
    `${gw.url}${new URL(link, "https://pay.example.test").pathname}${new URL(link, "https://pay.example.test").search}`;
  const form = (fields: Record<string, string>, query = "") =>
    fetch(`${gw.url}/pay/choose${query}`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });

  before(async () => {
    const base = testConfig();
    const chains = resolveConfig({
      masterKey: base.masterKey,
      payPageUrl: base.payPageUrl,
      chains: [
        ...base.chains.filter((c) => c.chainId === 31337),
        {
          chainId: 137,
          code: "polygon",
          name: "Polygon",
          vault: base.chains[0]!.vault,
          confirmations: 3,
          tokens: [
            { symbol: "POL", address: "0x0000000000000000000000000000000000000000", decimals: 18 },
            { symbol: "USDT", address: USDT_137, decimals: 18 },
          ],
        },
      ],
    }).chains;
    gw = await startGateway("pglite", { chains });
  });
  after(async () => {
    await gw?.close();
  });

  it("lists the quote's networks, moves the order to the one chosen, and old links still open it", async () => {
    const A = gw.merchants[0]!;
    const created = await call(gw, A, "POST", "payment/createPaymentOrder", {
      outTradeNo: "switch-1",
      chainId: 31337,
      quoteCurrencySymbol: "USDT",
      quoteAmount: "12.5",
      notifyUrl: "https://shop.example.test/notify",
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const o = created.body.data;
    const page = await (await fetch(local(o.paymentLink), { headers: { "accept-language": "en" } })).text();
    assert.match(page, /<form method="post" action="\/pay\/choose"/);
    assert.match(page, /<option value="31337:0x[0-9a-f]{40}" selected>USDT on Hardhat<\/option>/);
    assert.match(page, new RegExp(`<option value="137:${USDT_137}">USDT on Polygon</option>`));
    assert.doesNotMatch(page, /ETH on|POL on/, "only currencies of the quote's symbol");

    // a choice that is not offered, or a wrong accessSign: refused, nothing moved
    const bogus = await form({
      payOrderId: o.outPaymentNo,
      accessSign: o.accessSign,
      choice: "137:0x0000000000000000000000000000000000000000",
    });
    assert.equal(bogus.status, 400);
    assert.match(await bogus.text(), /id="choose-error" role="alert">The order could not switch/);
    const forged = await form({ payOrderId: o.outPaymentNo, accessSign: "AAAA", choice: `137:${USDT_137}` });
    assert.equal(forged.status, 404);
    const still = (await call(gw, A, "GET", "payment/detail", { outTradeNo: "switch-1" })).body.data;
    assert.deepEqual([still.chainId, still.userWalletAddress], [31337, o.userWalletAddress]);

    // the payer's switch, in Chinese
    const moved = await form({ payOrderId: o.outPaymentNo, accessSign: o.accessSign, choice: `137:${USDT_137}` }, "?lang=zh-CN");
    assert.equal(moved.status, 303);
    const next = new URL(moved.headers.get("location")!, gw.url);
    assert.equal(next.searchParams.get("chainCode"), "polygon");
    assert.equal(next.searchParams.get("lang"), "zh-CN");
    const d = (await call(gw, A, "GET", "payment/detail", { outTradeNo: "switch-1" })).body.data;
    assert.equal(d.chainId, 137);
    assert.equal(d.expectedAmount, "12500000000000000000", "12.5 USDT in the new token's 18 decimals");
    // (the vault is at the same address on both chains, so the new lease may be the same CREATE2 address)
    assert.deepEqual(
      d.earlierChoices.map((c: { chainId: number; userWalletAddress: string }) => [c.chainId, c.userWalletAddress]),
      [[31337, o.userWalletAddress]],
    );
    const movedPage = await (await fetch(`${gw.url}${next.pathname}${next.search}`)).text();
    assert.match(movedPage, /Polygon/);
    assert.match(movedPage, new RegExp(`<code id="receipt">${d.userWalletAddress}</code>`));
    assert.match(movedPage, /改用其他网络或币种支付/);
    // the link the payer had before (chainCode=local) opens the order as it is now
    const old = await fetch(local(o.paymentLink));
    assert.equal(old.status, 200);
    assert.match(await old.text(), new RegExp(`<code id="receipt">${d.userWalletAddress}</code>`));

    // a closed order offers no switch and refuses one
    assert.equal((await call(gw, A, "POST", "payment/cancel", { outTradeNo: "switch-1" })).status, 200);
    const closedPage = await (await fetch(`${gw.url}${next.pathname}${next.search}`)).text();
    assert.doesNotMatch(closedPage, /id="choose"/);
    const late = await form({ payOrderId: o.outPaymentNo, accessSign: o.accessSign, choice: `31337:${USDT.toLowerCase()}` });
    assert.equal(late.status, 409);
    assert.match(await late.text(), /no longer open/);
  });
});
