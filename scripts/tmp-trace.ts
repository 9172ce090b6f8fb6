import { network } from "hardhat";
const c = await network.create("hardhatMainnet");
const { ethers } = c;
const [a] = await ethers.getSigners();
const t = await ethers.deployContract("MockERC20", ["x","x",6]);
const tx = await t.mint(a.address, 5n);
const tr: any = await c.provider.request({ method: "debug_traceTransaction", params: [tx.hash, {}] });
console.log(Object.keys(tr), tr.structLogs?.length, JSON.stringify(tr.structLogs?.[0]));
await c.close();
