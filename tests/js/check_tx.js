// Parses signed raw transactions with ethers, an implementation written
// apart from zguard, and prints what it reads so a C test can compare.
//
// Input: one JSON object per line, {"raw": "0x...", "from": "0x..."}.
// Output: one JSON object per input line with the fields ethers parsed,
// the sender it recovered from the signature, and "fromMatches" telling
// whether that sender equals the "from" of the input. A transaction that
// ethers rejects gives {"error": message}.
'use strict';

const readline = require('readline');
const { Transaction, getAddress } = require('ethers');

function dec(v) {
	return v === null || v === undefined ? null : v.toString();
}

function describe(line) {
	const input = JSON.parse(line);
	let tx;
	try {
		tx = Transaction.from(input.raw);
	} catch (e) {
		return { error: e.message };
	}
	const from = tx.from;
	return {
		type: tx.type,
		chainId: dec(tx.chainId),
		nonce: dec(tx.nonce),
		gasLimit: dec(tx.gasLimit),
		gasPrice: tx.type === 2 ? null : dec(tx.gasPrice),
		maxFeePerGas: tx.type === 2 ? dec(tx.maxFeePerGas) : null,
		maxPriorityFeePerGas: tx.type === 2 ? dec(tx.maxPriorityFeePerGas) : null,
		to: tx.to === null ? null : tx.to.toLowerCase(),
		value: dec(tx.value),
		data: tx.data,
		accessList: tx.type === 0 ? null : tx.accessList.map((e) => ({
			address: e.address.toLowerCase(),
			storageKeys: e.storageKeys,
		})),
		v: dec(tx.signature.networkV),
		yParity: tx.signature.yParity,
		from: from.toLowerCase(),
		fromMatches: from === getAddress(input.from),
		hash: tx.hash,
		unsignedHash: tx.unsignedHash,
	};
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
	if (line.trim() !== '')
		process.stdout.write(JSON.stringify(describe(line)) + '\n');
});
