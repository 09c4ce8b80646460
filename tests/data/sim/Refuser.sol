// SPDX-License-Identifier: MIT
pragma solidity 0.8.26;

// Reverts on every call: withdraw() with an Error(string) message, deny()
// with a custom error that carries one argument.
contract Refuser {
	error Denied(uint256 code);

	function withdraw() external pure {
		revert("withdrawals are paused");
	}

	function deny() external pure {
		revert Denied(7);
	}
}
