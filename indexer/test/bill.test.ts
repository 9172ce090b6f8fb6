import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createPayClient, PayApiError, type PayClient } from "../../sdk/src/index.js";
import { loadConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { applyPaymentEvent } from "../src/store/paymentOrders.js";
import { csvField, parsePeriodBound } from "../src/store/statements.js";
import { PG_URL, USDT, call, postgresReachable, startGateway, type Backend, type TestGateway } from "./helpers.js";

const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = "";
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (c === '"') q = false;
      else f += c;
    } else if (c === '"') q = true;
    else if (c === ",") {
      row.push(f);
      f = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(f);
      rows.push(row);
      row = [];
      f = "";
      i++;
    } else f += c;
  }
  return rows;
}

function billSuite(backend: Backend) {
  describe(`statement (bill) on ${backend}`, () => {
    let gw: TestGateway;
    let sdk: PayClient;

    before(async () => {
      gw = await startGateway(backend);
      const A = gw.merchants[0]!;
      sdk = createPayClient({ baseUrl: gw.url, apiKey: A.apiKey, apiSecret: A.apiSecret });
      await gw.db.query("UPDATE merchants SET fee_bps = 100 WHERE id = 1");
      const mk = (id: string, amount: string, symbol = "USDT") =>
        sdk.payment.create({
          outTradeNo: id,
          chainId: 31337,
          quoteCurrencySymbol: symbol,
          quoteAmount: amount,
          notifyUrl: "https://shop.example.test/n",
        });
      const paid = await mk("bill-paid", "12.50");
      for (const event of [
        { type: "transferSeen", amount: 12_500_000n },
        { type: "transferConfirmed", amount: 12_500_000n },
      ] as const) {
        await applyPaymentEvent(gw.db, { merchantId: 1n, ref: { payOrderId: paid.outPaymentNo }, event, poolCooldownSeconds: 60 });
      }
      await gw.db.query("UPDATE payment_orders SET payer_address = $2 WHERE id = $1", [paid.outPaymentNo, PAYER]);
      await mk("bill-open", "3");
      await mk("bill-eth", "0.5", "ETH");
      const r1 = await sdk.refund.create({ outTradeNo: "bill-paid", outRefundNo: "bill-r1", refundAmount: "2.5" });
      await sdk.refund.create({ outTradeNo: "bill-paid", outRefundNo: "bill-r2", refundAmount: "1" });
      await gw.db.query("UPDATE refund_orders SET status = 3, tx_hash = '0xabc' WHERE refund_no = $1", [r1.refundId]);
      const userId = await sdk.user.create({ uuid: "bill-user" });
      const user = await sdk.user.detail({ userId });
      const wallet = user.userWallet.find((w) => w.chainId === 31337)!;
      await gw.db.query(
        `INSERT INTO recharge_orders (id, merchant_id, user_id, chain_id, token_address, amount, status, from_address, to_address, tx_hash, log_index, block_number, block_hash)
       VALUES ('rch-1', 1, $1, 31337, $2, 4000000, 4, $3, $4, '0xdead', 0, 10, '0xb10c')`,
        [user.userId, USDT.toLowerCase(), PAYER, wallet.walletAddress.toLowerCase()],
      );
      const w = await sdk.withdraw.apply({
        outTradeNo: "bill-w1",
        chainId: 31337,
        currencyId: 2,
        withdrawAmount: "1.5",
        withdrawAddress: PAYER,
      });
      await gw.db.query("UPDATE withdrawal_orders SET status = 3, tx_hash = '0xbeef' WHERE withdraw_id = $1", [w.withdrawId]);
      // merchant 2's activity must not show in merchant 1's statement
      await call(gw, gw.merchants[1]!, "POST", "payment/createPaymentOrder", {
        outTradeNo: "other",
        chainId: 31337,
        quoteCurrencySymbol: "USDT",
        quoteAmount: "99",
        notifyUrl: "https://b.example.test/n",
      });
    });
    after(async () => {
      await gw?.close();
    });

    it("lists the period's payments, refunds, recharges and withdrawals with totals per token (JSON)", async () => {
      const bill = await sdk.bill.json({ from: today, to: today });
      assert.equal(bill.orgId, 1);
      assert.equal(bill.feeSource, "fee_bps");
      const kinds = bill.lines.map((l) => `${l.kind}:${l.merchantRef}`).sort();
      assert.deepEqual(kinds, [
        "payment:bill-eth",
        "payment:bill-open",
        "payment:bill-paid",
        "recharge:bill-user",
        "refund:bill-r1",
        "refund:bill-r2",
        "withdrawal:bill-w1",
      ]);
      const paid = bill.lines.find((l) => l.merchantRef === "bill-paid")!;
      assert.equal(paid.status, 0, "paymentStatus 0: paid");
      assert.equal(paid.paidAmount, "12500000");
      assert.equal(paid.fee, "125000", "1% of 12.5, in base units");
      assert.equal(bill.lines.find((l) => l.merchantRef === "bill-open")!.status, 1, "paymentStatus 1: pending");
      assert.equal(bill.lines.find((l) => l.kind === "withdrawal")!.status, 0, "withdrawStatus 0: success");
      const usdt = bill.totals.find((t) => t.symbol === "USDT")!;
      assert.equal(usdt.decimals, 6);
      assert.equal(usdt.received, "12500000");
      assert.equal(usdt.recharged, "4000000");
      assert.equal(usdt.refunded, "2500000");
      assert.equal(usdt.refundsPending, "1000000");
      assert.equal(usdt.withdrawn, "1500000");
      assert.equal(usdt.fees, "165000", "1% of 12.5 + 1% of 4");
      // 12.5 + 4 - 0.165 - 2.5 - 1.5
      assert.equal(usdt.net, "12335000");
      const eth = bill.totals.find((t) => t.symbol === "ETH")!;
      assert.equal(eth.received, "0");
      assert.equal(eth.net, "0");
    });

    it("serves CSV with one header, escaped fields and total rows", async () => {
      const csv = await sdk.bill.csv({ from: today, to: tomorrow });
      const rows = parseCsv(csv);
      const [header, ...rest] = rows;
      assert.equal(header![0], "kind");
      assert.ok(
        rows.every((r) => r.length === header!.length),
        "every row has every column",
      );
      const net = rest.find((r) => r[0] === "total" && r[1] === "net" && r[6] === "USDT")!;
      assert.equal(net[header!.indexOf("amountBaseUnits")], "12335000");
      assert.equal(rest.filter((r) => r[0] === "payment").length, 3);
    });

    it("is empty outside the period and refuses bad periods with 40001", async () => {
      const empty = await sdk.bill.json({ from: "2020-01-01", to: "2020-02-01 00:00:00" });
      assert.deepEqual([empty.lines.length, empty.totals.length], [0, 0]);
      for (const q of [
        { from: "2026-13-45", to: today },
        { from: tomorrow, to: today },
        { from: "2020-01-01", to: "2024-01-01" },
      ]) {
        await assert.rejects(
          sdk.bill.json(q),
          (e: unknown) => e instanceof PayApiError && e.code === 40001 && e.httpStatus === 400,
          JSON.stringify(q),
        );
      }
      const res = await call(gw, gw.merchants[0]!, "GET", "bill", { from: today, to: today, format: "xml" });
      assert.equal(res.body.code, 40001);
    });

    it("is in the OpenAPI document with its JSON and CSV answers", async () => {
      const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as any;
      const op = doc.paths["/api/mer/bill"].get;
      assert.deepEqual(Object.keys(op.responses["200"].content).sort(), ["application/json", "text/csv"]);
      assert.deepEqual(
        op.parameters.map((p: { name: string }) => p.name),
        ["from", "to", "format"],
      );
    });

    it("escapes CSV fields and parses period bounds", () => {
      assert.equal(csvField('a,"b"\nc'), '"a,""b""\nc"');
      assert.equal(csvField("=cmd()"), "'=cmd()");
      assert.equal(csvField("-12.5"), "-12.5");
      assert.equal(csvField(null), "");
      assert.equal(parsePeriodBound("2026-12-31", "to")!.toISOString(), "2027-01-01T00:00:00.000Z");
      assert.equal(parsePeriodBound("2026-12-31 10:00:00", "to")!.toISOString(), "2026-12-31T10:00:00.000Z");
      assert.equal(parsePeriodBound("2026-12-31T10:00:00+02:00", "from")!.toISOString(), "2026-12-31T08:00:00.000Z");
      assert.equal(parsePeriodBound("31/12/2026", "from"), null);
    });

    it(
      "the bill CLI writes the same statement as CSV and JSON",
      { skip: backend !== "pglite" && "the CLI is tested once, on PGlite" },
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "gw-bill-"));
        try {
          const configFile = join(dir, "gateway.json");
          const chain = {
            chainId: 31337,
            code: "local",
            name: "Hardhat",
            vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            confirmations: 1,
            tokens: [{ symbol: "ETH", address: "0x0000000000000000000000000000000000000000", decimals: 18 }],
          };
          writeFileSync(configFile, JSON.stringify({ chains: [chain] }));
          const env: NodeJS.ProcessEnv = {
            ...process.env,
            GATEWAY_CONFIG: configFile,
            PGLITE_DIR: join(dir, "pglite"),
            GATEWAY_MASTER_KEY_FILE: join(dir, "master.key"),
          };
          delete env.DATABASE_URL;
          const config = loadConfig(env, { createMasterKey: true });
          const db = await openStore({ pgliteDir: config.pgliteDir });
          await createMerchant(db, createSecretBox(config.masterKey), { name: "CLI", id: 5n });
          await db.close();
          const run = promisify(execFile);
          const cli = (args: string[]) =>
            run(process.execPath, ["--import", "tsx", "indexer/src/cli/bill.ts", ...args], { env, cwd: process.cwd() });
          const out = join(dir, "s.csv");
          await cli(["--merchant", "5", "--from", today, "--to", today, "--out", out]);
          assert.equal(
            readFileSync(out, "utf8").split("\r\n")[0],
            "kind,id,merchantRef,relatedId,chainId,token,tokenSymbol,state,amount,amountBaseUnits,paidAmount,paidBaseUnits,fee,feeBaseUnits,counterparty,txHash,time",
          );
          const json = JSON.parse((await cli(["--merchant", "5", "--from", today, "--to", today, "--format", "json"])).stdout);
          assert.equal(json.merchantId, "5");
          assert.deepEqual(json.lines, []);
          await assert.rejects(cli(["--merchant", "6", "--from", today, "--to", today]), /merchant 6 does not exist/);
          await assert.rejects(cli(["--merchant", "5", "--from", "yesterday", "--to", today]), /--from yesterday/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });
}

billSuite("pglite");
if (await postgresReachable()) billSuite("postgres");
else console.log(`# NOTICE: PostgreSQL not reachable at ${PG_URL}: the statement tests ran on PGlite only`);
