/**
 * Leader election of chain followers on one PostgreSQL (each with its own pool, as two processes would be):
 * only the holder of the advisory lock ingests; when its lock connection is killed the other takes over and
 * resumes from the cursor, with no block skipped and no deposit reported twice. Skipped without PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { createChainFollower, type ChainFollower } from "../src/chain/follower.js";
import { createFollowerLeadership, lockKeyOf } from "../src/chain/leadership.js";
import { createDb, type Db } from "../src/store/db.js";
import { openStore } from "../src/store/open.js";
import {
  CHAIN_PG_URL as PG_URL,
  chainPostgresReachable as postgresReachable,
  deployFixture,
  startHardhatNode,
  type Fixture,
  type HardhatNode,
} from "./chainHarness.js";

const CHAIN = 31337;
const reachable = await postgresReachable();

describe("follower leader election on PostgreSQL", { skip: reachable ? false : "PostgreSQL not reachable" }, () => {
  let node: HardhatNode;
  let fx: Fixture;
  let dbA: Db;
  let dbB: Db;
  let admin: Db;
  const schema = `chain_lead_${Date.now()}_${randomBytes(3).toString("hex")}`;
  // a namespace of this run only: other test runs on the same server must not contend for the lock
  const namespace = randomBytes(4).readInt32BE() | 1;
  const followers: ChainFollower[] = [];

  before(async () => {
    node = await startHardhatNode();
    fx = await deployFixture(node);
    admin = await openStore({ databaseUrl: PG_URL, schema, poolSize: 2 });
    [dbA, dbB] = await Promise.all([
      createDb({ databaseUrl: PG_URL, schema, poolSize: 3 }),
      createDb({ databaseUrl: PG_URL, schema, poolSize: 3 }),
    ]);
  });
  after(async () => {
    await Promise.all(followers.map((f) => f.stop()));
    await dbA?.close().catch(() => {});
    await dbB?.close().catch(() => {});
    await admin?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await admin?.close().catch(() => {});
    node?.stop();
  });

  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it("lets one follower ingest; after its lock connection is killed the other resumes from the cursor without gaps or duplicates", async () => {
    const watched: Address[] = Array.from({ length: 8 }, (_, i) => fx.paymentAddress(BigInt(i + 1)));
    const startBlock = (await fx.blockNumber()) + 1n;
    const seen = { A: [] as string[], B: [] as string[] };
    const make = (name: "A" | "B", db: Db) => {
      const f = createChainFollower({
        db,
        chain: { chainId: CHAIN, rpcUrl: node.url, vault: fx.vault, tokens: [{ address: fx.token }], confirmations: 1, startBlock },
        pollIntervalMs: 50,
        rpcOptions: { retry: { baseDelayMs: 10 } },
        leadership: createFollowerLeadership({ chainId: CHAIN, db, databaseUrl: `${PG_URL}`, namespace, retryMs: 100, heartbeatMs: 200 }),
        hooks: {
          async onSeen(_tx, e) {
            seen[name].push(...e.deposits.map((d) => `${d.txHash}:${d.logIndex}`));
          },
        },
      });
      f.watch(watched);
      followers.push(f);
      return f;
    };
    const a = make("A", dbA);
    const b = make("B", dbB);
    const runs = [a.run(), b.run()];
    runs.forEach((p) => p.catch(() => {}));
    await until("a leader", () => a.status().leading || b.status().leading);
    const [first, second] = a.status().leading ? ([a, b] as const) : ([b, a] as const);
    const firstName = first === a ? "A" : "B";
    const secondName = first === a ? "B" : "A";
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(second.status().leading, false, "the other waits");

    const deposits = async () => Number((await admin.query<{ n: string }>("SELECT count(*)::text AS n FROM chain_deposits"))[0]!.n);
    for (let i = 0; i < 3; i++) await fx.mint(watched[i]!, BigInt(100 + i));
    await until("3 deposits", async () => (await deposits()) === 3);
    assert.equal(seen[firstName].length, 3);
    assert.equal(seen[secondName].length, 0, "the non-leader ingested nothing");

    // kill the leader's lock connection from outside, as a network drop or a crashed process would
    const holders = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = $1::bigint AND objid::bigint = $2::bigint AND granted",
      [namespace >>> 0, lockKeyOf(CHAIN) >>> 0],
    );
    assert.equal(holders.length, 1, "one session holds the lock");
    await admin.query("SELECT pg_terminate_backend($1)", [holders[0]!.pid]);
    // blocks mined while nobody leads must not be skipped
    for (let i = 3; i < 6; i++) await fx.mint(watched[i]!, BigInt(100 + i));
    await until("the other to lead", () => second.status().leading);
    await until("the deposed one to stop", () => !first.status().leading);
    for (let i = 6; i < 8; i++) await fx.mint(watched[i]!, BigInt(100 + i));
    await until("8 deposits", async () => (await deposits()) === 8);
    const head = await fx.blockNumber();
    await until(
      "the cursor at the head",
      async () => BigInt((await admin.query("SELECT block_number FROM chain_cursors"))[0]!.block_number) === head,
    );

    const rows = await admin.query<{ to_address: string; amount: string }>(
      "SELECT to_address, amount FROM chain_deposits ORDER BY block_number",
    );
    assert.deepEqual(
      rows.map((r) => [r.to_address, r.amount]),
      watched.map((w, i) => [w, String(100 + i)]),
    );
    assert.equal(seen[firstName].length, 3, "the deposed follower wrote nothing more");
    assert.equal(seen[secondName].length, 5);
    const all = [...seen.A, ...seen.B];
    assert.equal(new Set(all).size, 8, "each deposit reported once");
    // the kept window is contiguous from the start to the head: no block was skipped
    const blocks = await admin.query<{ block_number: string }>("SELECT block_number FROM chain_blocks ORDER BY block_number");
    const numbers = blocks.map((r) => BigInt(r.block_number));
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1]! + 1n);
    assert.equal(numbers[numbers.length - 1], head);
    assert.ok(numbers[0]! <= startBlock);
  });
});
