// Starts a ganache 7.9.2 node on 127.0.0.1 for the simulation tests,
// deploys the contracts in tests/data/sim (compiled here with solc-js
// 0.8.26) and prints one JSON line with what a test needs:
//
//   {"url", "chainId", "from", "unfunded",
//    "calls": {"message", "custom", "panic", "success"}}
//
// Each call is {"to", "data"}. "from" is funded, "unfunded" has no ether.
// The node runs until stdin closes or SIGTERM or SIGINT arrives, so it
// stops when the test that started it exits, even after a crash. A failure
// before the line is printed gives {"error": message} and exit status 1.
//
// Usage: node sim_contracts.js SOURCE_DIR
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const ganache = require('ganache');
const solc = require('solc');
const { ContractFactory, JsonRpcProvider, Wallet } = require('ethers');

const CHAIN_ID = 1337;
// Test-only keys that never hold value outside this node.
const FUNDED_KEY = '0x' + '11'.repeat(32);
const UNFUNDED_KEY = '0x' + '22'.repeat(32);
// solc 0.8.26 targets cancun by default, and ganache 7.9.2 does not start
// with hardfork cancun, so both use shanghai.
const EVM_VERSION = 'shanghai';

let server = null;
let stopping = false;

function compile(dir) {
	const sources = {};
	for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')))
		sources[name] = { content: fs.readFileSync(path.join(dir, name), 'utf8') };
	const input = {
		language: 'Solidity',
		sources,
		settings: {
			evmVersion: EVM_VERSION,
			outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
		},
	};
	const output = JSON.parse(solc.compile(JSON.stringify(input)));
	const errors = (output.errors || []).filter((e) => e.severity === 'error');
	if (errors.length > 0)
		throw new Error('solc: ' + errors.map((e) => e.formattedMessage).join('\n'));
	const contracts = {};
	for (const file of Object.keys(output.contracts))
		for (const [name, c] of Object.entries(output.contracts[file]))
			contracts[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
	return contracts;
}

// Returns a loopback TCP port that was free a moment ago.
function freePort() {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const port = probe.address().port;
			probe.close(() => resolve(port));
		});
	});
}

// Deploys with a nonce counted here. Against ganache 7.9.2 over HTTP,
// ethers 6.17.0 gave every deployment nonce 0, and so one address, when it
// chose the nonce itself, and reading the count between deployments
// returned an old value.
async function deploy(wallet, artifact, nonce) {
	const factory = new ContractFactory(artifact.abi, artifact.bytecode, wallet);
	const contract = await factory.deploy({ nonce });
	await contract.deploymentTransaction().wait();
	return contract;
}

async function stop() {
	if (stopping)
		return;
	stopping = true;
	if (server !== null)
		await server.close().catch(() => {});
	process.exit(0);
}

async function main() {
	if (process.argv.length !== 3)
		throw new Error('usage: node sim_contracts.js SOURCE_DIR');
	const contracts = compile(process.argv[2]);

	server = ganache.server({
		chain: { chainId: CHAIN_ID, hardfork: EVM_VERSION },
		wallet: { accounts: [{ secretKey: FUNDED_KEY, balance: '0x56bc75e2d63100000' }] },
		logging: { quiet: true },
	});
	const port = await freePort();
	await server.listen(port, '127.0.0.1');
	const url = `http://127.0.0.1:${port}`;

	const provider = new JsonRpcProvider(url, CHAIN_ID, { staticNetwork: true });
	const wallet = new Wallet(FUNDED_KEY, provider);
	const nonce = await provider.getTransactionCount(wallet.address, 'latest');
	const refuser = await deploy(wallet, contracts.Refuser, nonce);
	const divider = await deploy(wallet, contracts.Divider, nonce + 1);
	const counter = await deploy(wallet, contracts.Counter, nonce + 2);
	provider.destroy();

	const call = async (c, fn, args) => ({
		to: (await c.getAddress()).toLowerCase(),
		data: c.interface.encodeFunctionData(fn, args),
	});
	const ready = {
		url,
		chainId: String(CHAIN_ID),
		from: wallet.address.toLowerCase(),
		unfunded: new Wallet(UNFUNDED_KEY).address.toLowerCase(),
		calls: {
			message: await call(refuser, 'withdraw', []),
			custom: await call(refuser, 'deny', []),
			panic: await call(divider, 'divide', [1, 0]),
			success: await call(counter, 'increment', []),
		},
	};
	process.stdout.write(JSON.stringify(ready) + '\n');
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

main().catch(async (e) => {
	process.stdout.write(JSON.stringify({ error: String(e && e.message || e) }) + '\n');
	if (server !== null)
		await server.close().catch(() => {});
	process.exit(1);
});
