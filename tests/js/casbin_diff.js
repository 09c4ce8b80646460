// Decides zguard permission worlds with node-casbin, for the differential
// test in tests/unit/test_authz_casbin.c.
//
// Input: a file of JSON lines, one world each:
//   {"p": [[role, pattern, action, "allow"|"deny"], ...],
//    "g": [[member, role], ...],   // user -> role, and role -> inherited role
//    "r": [[user, path, action], ...]}
// Output: one line per world, one character per request, "1" allowed, "0"
// denied.
//
// casbin matches resources with its own regexMatch. This script only
// rewrites a zguard pattern as a regular expression over "/" + path:
// "**" is any number of segments, "*" alone one segment, and "*" inside a
// segment any characters within that segment.
'use strict';

const fs = require('fs');
const path = require('path');
const { newEnforcer, newModelFromString } = require(
	path.join(__dirname, '..', 'node_modules', 'casbin'));

const MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && regexMatch(r.obj, p.obj) && (p.act == "*" || r.act == p.act)
`;

function escapeRegex(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function patternToRegex(pattern) {
	const parts = pattern.split('/').map((seg) => {
		if (seg === '**')
			return '(/[^/]+)*';
		return '/' + seg.split('*').map(escapeRegex).join('[^/]*');
	});
	// A segment of "*" alone must match a non-empty segment.
	return '^' + parts.join('').replace(/\/\[\^\/\]\*(?=\/|$)/g,
	    '/[^/]+') + '$';
}

async function decideWorld(world) {
	const e = await newEnforcer(newModelFromString(MODEL));
	for (const [role, pattern, action, effect] of world.p)
		await e.addPolicy(role, patternToRegex(pattern), action, effect);
	for (const [member, role] of world.g)
		await e.addGroupingPolicy(member, role);
	let out = '';
	for (const [user, p, action] of world.r)
		out += (await e.enforce(user, '/' + p, action)) ? '1' : '0';
	return out;
}

async function main() {
	const file = process.argv[2];
	if (!file) {
		process.stderr.write('usage: node casbin_diff.js FILE\n');
		process.exit(2);
	}
	const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
	const out = [];
	for (const line of lines)
		out.push(await decideWorld(JSON.parse(line)));
	process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
	process.stderr.write(`casbin_diff failed: ${err.stack || err}\n`);
	process.exit(1);
});
