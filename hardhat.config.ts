import { createRequire } from "node:module";
import path from "node:path";
import type { HardhatUserConfig } from "hardhat/config";
import { configVariable } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatViem from "@nomicfoundation/hardhat-viem";

// No native solc can be downloaded on these machines: compile with the solc npm package's soljson.js.
const require = createRequire(import.meta.url);
const soljson = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");

/** A testnet or mainnet whose RPC URL and deployer key come from the environment or Hardhat's keystore. */
function remote(chainId: number, rpcVariable: string) {
  return {
    type: "http" as const,
    chainType: "l1" as const,
    chainId,
    url: configVariable(rpcVariable),
    accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
  };
}

const config: HardhatUserConfig = {
  plugins: [hardhatToolboxMochaEthers, hardhatViem],
  solidity: {
    profiles: {
      default: {
        version: "0.8.30",
        path: soljson,
        settings: {
          evmVersion: "cancun",
          optimizer: { enabled: true, runs: 10_000 },
        },
      },
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/solidity" },
  },
  typechain: { outDir: "typechain-types" },
  // Coverage is reported for the product's contracts only: test tokens and gas baselines are not shipped.
  coverage: { skipFiles: ["contracts/mocks/**", "contracts/baselines/**"] },
  test: {
    solidity: { fuzz: { runs: 256 } },
  },
  networks: {
    // `hardhat node` reads the network named "node".
    node: { type: "edr-simulated", chainType: "l1", hardfork: "cancun", allowUnlimitedContractSize: false },
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: "cancun" },
    localhost: { type: "http", chainType: "l1", url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
    sepolia: remote(11155111, "SEPOLIA_RPC_URL"),
    baseSepolia: remote(84532, "BASE_SEPOLIA_RPC_URL"),
    polygonAmoy: remote(80002, "POLYGON_AMOY_RPC_URL"),
    bscTestnet: remote(97, "BSC_TESTNET_RPC_URL"),
  },
};

export default config;
