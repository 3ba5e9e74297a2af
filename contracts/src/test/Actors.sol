// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Contract users of the bridge for tests (security items 12 and 15).

/// @notice An L1 account that is a contract: it acts through exec, and when it receives ETH
/// it calls `reentry` on `target` once (a reentrancy attack), keeping the outcome.
contract Reenterer {
    address public target;
    bytes public reentry;
    bool public attempted;
    bool public reentrySucceeded;
    bytes public reentryError;
    uint256 public received;

    function arm(address t, bytes calldata data) external {
        target = t;
        reentry = data;
        attempted = false;
    }

    function exec(address to, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        received += msg.value;
        if (reentry.length > 0 && !attempted) {
            attempted = true;
            (bool ok, bytes memory ret) = target.call(reentry);
            reentrySucceeded = ok;
            reentryError = ret;
        }
    }
}

/// @notice An L1 account that refuses ETH: every payment to it reverts.
contract RevertingReceiver {
    function exec(address to, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        revert("RevertingReceiver: no ETH");
    }
}
