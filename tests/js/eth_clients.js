// Checks zguard's signatures with ethers v6, a client written apart from
// zguard, and funds accounts on a local ganache chain for the C test
// tests/integration/test_eth_clients.c.
//
// usage: node eth_clients.js check
//          Reads one JSON request per line from stdin and writes one JSON
//          result per line:
//          {"op":"tx","raw","from"} parses a signed raw transaction and
//            recovers its sender;
//          {"op":"message","message","encoding","signature","address"}
//            runs verifyMessage ("encoding":"hex" for 0x-hex bytes);
//          {"op":"typed","typedData","signature","address"} runs
//            verifyTypedData.
//          Every result has "recovered" and "matches" (the recovered
//          address equals "from" or "address"), or "error" with the
//          message ethers raised.
//        node eth_clients.js fund URL ADDRESS WEI
//          Sends WEI from the node's first account to ADDRESS through the
//          JSON-RPC endpoint URL, waits for the receipt and prints
//          {"hash","status"}. Exits 1 on failure.
'use strict';

const readline = require('readline');
const ethers = require('ethers');

function dec(v) {
	return v === null || v === undefined ? null : v.toString();
}

function checkTx(req) {
	const tx = ethers.Transaction.from(req.raw);
	return {
		type: tx.type,
		chainId: dec(tx.chainId),
		to: tx.to === null ? null : tx.to.toLowerCase(),
		accessListLength: tx.type === 0 ? 0 : tx.accessList.length,
		hash: tx.hash,
		recovered: tx.from,
		matches: tx.from === ethers.getAddress(req.from),
	};
}

function checkMessage(req) {
	const message = req.encoding === 'hex' ?
		ethers.getBytes(req.message) : req.message;
	const recovered = ethers.verifyMessage(message, req.signature);
	return {
		recovered: recovered,
		matches: recovered === ethers.getAddress(req.address),
	};
}

function checkTyped(req) {
	const doc = req.typedData;
	// ethers derives the domain type from the domain's fields and rejects
	// a declared EIP712Domain.
	const types = Object.assign({}, doc.types);
	delete types.EIP712Domain;
	const recovered = ethers.verifyTypedData(doc.domain, types, doc.message,
		req.signature);
	return {
		recovered: recovered,
		matches: recovered === ethers.getAddress(req.address),
	};
}

const checks = { tx: checkTx, message: checkMessage, typed: checkTyped };

function check(line) {
	let req;
	try {
		req = JSON.parse(line);
		const fn = checks[req.op];
		if (fn === undefined)
			return { error: 'unknown op ' + JSON.stringify(req.op) };
		return fn(req);
	} catch (e) {
		return { error: e.message };
	}
}

async function fund(url, address, wei) {
	const provider = new ethers.JsonRpcProvider(url, undefined,
		{ staticNetwork: true });
	const signer = await provider.getSigner(0);
	const tx = await signer.sendTransaction({ to: address, value: BigInt(wei) });
	const receipt = await tx.wait();
	provider.destroy();
	return { hash: receipt.hash, status: receipt.status };
}

function main() {
	const [mode, ...args] = process.argv.slice(2);
	if (mode === 'check') {
		const rl = readline.createInterface({ input: process.stdin });
		rl.on('line', (line) => {
			if (line.trim() !== '')
				process.stdout.write(JSON.stringify(check(line)) + '\n');
		});
	} else if (mode === 'fund' && args.length === 3) {
		fund(args[0], args[1], args[2]).then((r) => {
			process.stdout.write(JSON.stringify(r) + '\n');
		}, (e) => {
			process.stderr.write('fund failed: ' + e.message + '\n');
			process.exitCode = 1;
		});
	} else {
		process.stderr.write('usage: node eth_clients.js check | ' +
			'fund URL ADDRESS WEI\n');
		process.exitCode = 2;
	}
}

main();
