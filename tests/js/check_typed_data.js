// Hashes EIP-712 typed data with ethers, an implementation written apart
// from zguard, so a C test can compare.
//
// Input: one typed-data document per line, {"types", "primaryType",
// "domain", "message"}. Output: one line per document with
// "domainSeparator", "messageHash" and "digest" as 0x hex, or
// {"error": message} if ethers rejects the document.
//
// ethers derives the EIP712Domain type from the fields present in the
// domain, so a declared EIP712Domain is dropped before hashing. A document
// that declares it must list its fields in ethers' order (name, version,
// chainId, verifyingContract, salt), or the two hashes differ.
'use strict';

const readline = require('readline');
const { TypedDataEncoder } = require('ethers');

function hashes(line) {
	const doc = JSON.parse(line);
	const types = Object.assign({}, doc.types);
	delete types.EIP712Domain;
	try {
		const encoder = TypedDataEncoder.from(types);
		return {
			domainSeparator: TypedDataEncoder.hashDomain(doc.domain),
			messageHash: encoder.hashStruct(doc.primaryType, doc.message),
			digest: TypedDataEncoder.hash(doc.domain, types, doc.message),
		};
	} catch (e) {
		return { error: e.message };
	}
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
	if (line.trim() !== '')
		process.stdout.write(JSON.stringify(hashes(line)) + '\n');
});
