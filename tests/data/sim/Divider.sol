// SPDX-License-Identifier: MIT
pragma solidity 0.8.26;

// divide(x, 0) stops with Panic(0x12), division or modulo by zero.
contract Divider {
	function divide(uint256 x, uint256 y) external pure returns (uint256) {
		return x / y;
	}
}
