// SPDX-License-Identifier: MIT
pragma solidity 0.8.26;

// increment() writes storage, so its gas estimate is well above 21000.
contract Counter {
	uint256 public count;

	function increment() external {
		count += 1;
	}
}
