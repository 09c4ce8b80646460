// Prints a Magic-style DID token made with ethers' Wallet.signMessage
// (EIP-191 personal_sign), for tests to verify with zguard.
//
// usage: node make_did.js PRIVATE_KEY_HEX AUD IAT EXT NBF
// Times are Unix seconds. The token is base64 of JSON [proof, claim].
'use strict';

const path = require('path');
const { Wallet } = require(path.join(__dirname, '..', 'node_modules', 'ethers'));

async function main() {
	const [priv, aud, iat, ext, nbf] = process.argv.slice(2);
	if (nbf === undefined) {
		console.error('usage: node make_did.js PRIVATE_KEY_HEX AUD IAT EXT NBF');
		process.exit(2);
	}
	const wallet = new Wallet(priv.startsWith('0x') ? priv : '0x' + priv);
	const claim = JSON.stringify({
		iat: Number(iat),
		ext: Number(ext),
		iss: `did:ethr:${wallet.address}`,
		sub: 'test-subject',
		aud: aud,
		nbf: Number(nbf),
		tid: 'test-token-id',
		add: '',
	});
	const proof = await wallet.signMessage(claim);
	process.stdout.write(Buffer.from(JSON.stringify([proof, claim])).toString('base64'));
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
