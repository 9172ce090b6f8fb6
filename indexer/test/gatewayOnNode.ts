/**
 * The whole gateway (API, follower, notifier, money movers) in this process, on a `hardhat node` with the
 * fixture's vault and USDT: merchant 1 "Shop" (1% fee) whose payout signer is the operator (mnemonic account
 * 0), PGlite in memory, blocks mined every 200 ms as on a real chain. Shared by the movers and batch payout
 * tests.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Address } from "viem";
import { createPayClient, type PayClient } from "../../sdk/src/index.js";
import { resolveConfig, type GatewayConfig } from "../src/config.js";
import { createSecretBox } from "../src/crypto/secretBox.js";
import { startGateway, type Gateway } from "../src/runtime/gateway.js";
import type { Db } from "../src/store/db.js";
import { createMerchant } from "../src/store/merchants.js";
import { openStore } from "../src/store/open.js";
import {
  deployFixture,
  freePort,
  hardhatAccount,
  moverChainConfig,
  startHardhatNode,
  type Fixture,
  type HardhatNode,
} from "./chainHarness.js";

export { hardhatAccount, until } from "./chainHarness.js";

export const NATIVE = "0x0000000000000000000000000000000000000000" as Address;

export type GatewayOnNode = {
  node: HardhatNode;
  fx: Fixture;
  db: Db;
  config: GatewayConfig;
  /** the running gateway (a new one after `restart`) */
  readonly gateway: Gateway;
  /** merchant 1's API client */
  client: PayClient;
  /** stops the gateway and starts it again on the same store */
  restart(): Promise<void>;
  /** holds or resumes the 200 ms miner (automine stays as the test sets it) */
  setMining(on: boolean): void;
  stop(): Promise<void>;
};

/** `moverIntervalMs`: how often the movers run by themselves (a long one: only when the test calls runOnce). */
export async function startGatewayOnNode(o: { moverIntervalMs: number }): Promise<GatewayOnNode> {
  const node = await startHardhatNode();
  const fx = await deployFixture(node);
  const operator = hardhatAccount(0);
  assert.equal(operator.account.address.toLowerCase(), fx.admin.toLowerCase(), "the fixture's admin is mnemonic account 0");
  const db = await openStore({ pgliteDir: "memory://" });
  const config = resolveConfig({
    masterKey: randomBytes(32),
    host: "127.0.0.1",
    port: await freePort(),
    logLevel: "silent",
    operatorKey: operator.key,
    allowPrivateWebhookTargets: true,
    chains: [await moverChainConfig(fx)],
  });
  const m = await createMerchant(db, createSecretBox(config.masterKey), {
    id: fx.merchantId,
    name: "Shop",
    feeBps: 100,
    payoutSigner: fx.admin,
  });
  const start = () => startGateway({ config, db, pollIntervalMs: 100, moverIntervalMs: o.moverIntervalMs, retryScheduleMs: [200] });
  let gateway = await start();
  const client = createPayClient({ baseUrl: gateway.url!, apiKey: m.apiKey, apiSecret: m.apiSecret });
  let mining = true;
  const miner = setInterval(() => void (mining && node.rpc("evm_mine").catch(() => {})), 200);
  return {
    node,
    fx,
    db,
    config,
    get gateway() {
      return gateway;
    },
    client,
    async restart() {
      await gateway.stop();
      gateway = await start();
    },
    setMining(on) {
      mining = on;
    },
    async stop() {
      clearInterval(miner);
      await gateway.stop();
      await db.close();
      node.stop();
    },
  };
}
