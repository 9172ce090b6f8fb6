/**
 * The merchant's underpayment tolerance (issue 14): an order paid within `underpaymentToleranceBps` of its
 * amount counts as paid. Set over HTTP (merchant/settings/update), applied by the real follower to real
 * ERC-20 transfers on a `hardhat node` (PGlite), and in the pure state machine at the boundary.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { buildApp } from "../src/api/app.js";
import { createChainFollower, type ChainFollower } from "../src/chain/follower.js";
import { resolveConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import {
  assertPaymentInvariants,
  minimumDue,
  PaymentStatus,
  transitionPayment,
  type PaymentOrderState,
} from "../src/domain/orderStateMachine.js";
import { createOrderHooks } from "../src/ingest/index.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import { deployFixture, startHardhatNode, type Fixture, type HardhatNode } from "./chainHarness.js";
import { call, type TestGateway } from "./helpers.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const USD = 10n ** 6n;
const CHAIN = 31337;

describe("underpayment tolerance in the state machine", () => {
  const order = (amount: bigint, toleranceBps: number): PaymentOrderState => ({
    status: PaymentStatus.Unpaid,
    amount,
    seenAmount: 0n,
    paidAmount: 0n,
    refundedAmount: 0n,
    toleranceBps,
  });

  it("covers the order at amount less ⌊amount · bps / 10000⌋, not one base unit below", () => {
    const o = order(1_000_001n, 50); // allowance ⌊5000.005⌋ = 5000
    assert.equal(minimumDue(o), 995_001n);
    const short = transitionPayment(o, { type: "transferSeen", amount: 995_000n }).next;
    assert.equal(short.status, PaymentStatus.Incomplete);
    const enough = transitionPayment(o, { type: "transferSeen", amount: 995_001n }).next;
    assert.equal(enough.status, PaymentStatus.AwaitingConfirmation);
    const paid = transitionPayment(enough, { type: "transferConfirmed", amount: 995_001n }).next;
    assert.equal(paid.status, PaymentStatus.Success);
    assertPaymentInvariants(paid);
    // a reorg taking part of it back below the minimum reopens the order
    const seen = transitionPayment(o, { type: "transferSeen", amount: 995_001n }).next;
    assert.equal(transitionPayment(seen, { type: "transferRemoved", amount: 1n }).next.status, PaymentStatus.Incomplete);
  });

  it("0 bps (the default) demands the whole amount", () => {
    const o = { ...order(100n, 0), toleranceBps: undefined };
    assert.equal(transitionPayment(o, { type: "transferSeen", amount: 99n }).next.status, PaymentStatus.Incomplete);
    assert.equal(transitionPayment(o, { type: "transferSeen", amount: 100n }).next.status, PaymentStatus.AwaitingConfirmation);
  });
});

describe("underpayment tolerance end to end (hardhat node, follower, HTTP)", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let db: Db;
  let gw: TestGateway;
  let f: ChainFollower;
  let seq = 0;

  before(async () => {
    node = await startHardhatNode();
    fx = await deployFixture(node);
    await fx.mint(fx.admin, 1_000_000n * USD);
    db = await openStore({ pgliteDir: "memory://" });
    const config = resolveConfig({
      masterKey: randomBytes(32),
      chains: [
        {
          chainId: CHAIN,
          code: "local",
          name: "Hardhat",
          vault: fx.vault,
          confirmations: 1,
          tokens: [
            { symbol: "ETH", address: ZERO, decimals: 18 },
            { symbol: "USDT", address: fx.token, decimals: 6 },
          ],
        },
      ],
    });
    const merchant = await createMerchant(db, createSecretBox(config.masterKey), { name: "Shop", id: fx.merchantId });
    const app = await buildApp({ db, config });
    await app.listen({ host: "127.0.0.1", port: 0 });
    gw = {
      url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
      db,
      app,
      config,
      merchants: [merchant],
      close: async () => {},
    };
    f = createChainFollower({
      db,
      chain: {
        chainId: CHAIN,
        rpcUrl: node.url,
        vault: fx.vault,
        tokens: [{ address: fx.token }, { address: ZERO }],
        confirmations: 1,
        startBlock: (await fx.blockNumber()) + 1n,
        balancePoll: { hot: false, cycleMs: 0 },
      },
      rpcOptions: { retry: { baseDelayMs: 10 } },
      hooks: createOrderHooks({ poolCooldownSeconds: 3600 }),
    });
    await f.init();
  });
  after(async () => {
    await gw?.app.close();
    await db?.close();
    node?.stop();
  });

  const api = async (method: "GET" | "POST", path: string, payload?: unknown) => {
    const res = await call(gw, gw.merchants[0]!, method, path, payload);
    assert.equal(res.body.code, 200, `${path}: ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
  const createOrder = async (amount: string) => {
    const o = await api("POST", "payment/createPaymentOrder", {
      outTradeNo: `tol-${++seq}`,
      chainId: CHAIN,
      quoteCurrencySymbol: "USDT",
      quoteAmount: amount,
      notifyUrl: "https://shop.example.test/notify",
    });
    return { id: o.outPaymentNo as string, address: o.userWalletAddress as Address };
  };
  const pay = async (to: Address, amount: bigint) => {
    await fx.write(fx.token, fx.tokenAbi, "transfer", [to, amount], fx.admin);
    await fx.mine(1);
    await f.tick();
  };
  const detail = (id: string) => api("GET", "payment/detail", { outPaymentNo: id });

  it("merchant/settings shows 0 by default and takes 0..1000 bps; other values are refused, nothing changed", async () => {
    assert.equal((await api("GET", "merchant/settings")).underpaymentToleranceBps, 0);
    const bad = await call(gw, gw.merchants[0]!, "POST", "merchant/settings/update", { underpaymentToleranceBps: 1001 });
    assert.equal(bad.body.code, 40001);
    assert.match(bad.body.msg, /underpaymentToleranceBps/);
    assert.equal((await api("GET", "merchant/settings")).underpaymentToleranceBps, 0);
  });

  it("an order paid within the tolerance is paid (4); below it stays partially paid (1); orders created before the change keep theirs", async () => {
    const before = await createOrder("100"); // tolerance 0 at creation
    const updated = await api("POST", "merchant/settings/update", { underpaymentToleranceBps: 50 }); // 0.5%: 99.5 USDT of 100 suffice
    assert.equal(updated.underpaymentToleranceBps, 50);
    const within = await createOrder("100");
    const below = await createOrder("100");

    await pay(within.address, 99_500_000n);
    let d = await detail(within.id);
    assert.equal(d.state, 4, "99.5 of 100 USDT with a 0.5% tolerance is paid");
    assert.equal(d.paymentStatus, 0);
    assert.equal(d.paidAmount, "99500000");
    assert.equal(d.expectedAmount, "100000000");

    await pay(below.address, 99_499_999n);
    d = await detail(below.id);
    assert.equal(d.state, 1, "one base unit under the minimum is partially paid");
    assert.equal(d.paymentStatus, 3);

    await pay(before.address, 99_500_000n);
    assert.equal((await detail(before.id)).state, 1, "the order created at 0 bps still needs the whole amount");
    // the rest arrives: now paid
    await pay(below.address, 1n);
    assert.equal((await detail(below.id)).state, 4);
  });
});
