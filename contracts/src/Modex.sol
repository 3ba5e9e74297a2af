// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Poseidon2} from "./Poseidon2.sol";

/// @notice The Groth16 verifier exported by gnark for one batch family (prover.ExportSolidity).
/// It reverts (ProofInvalid, PublicInputNotInField) unless the proof verifies.
interface IVerifier {
    function verifyProof(bytes calldata proof, uint256[1] calldata input) external view;
}

/// @title Modex bridge and rollup contract (docs/protocol.md §11)
/// @notice Holds the bridged funds, keeps the L1 priority queue (deposits and forced
/// withdrawals), accepts proven batches (commit and verify in one transaction), pays
/// withdrawals through pending balances, and keeps the escape hatch (exodus, exits, refunds).
/// There is no upgrade path and no admin power over funds: the governor can only register
/// tokens and replace the operator, neither of which moves a balance.
contract Modex {
    // ------------------------------------------------------------------ constants

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant MAX_AMOUNT = 1 << 96; // amounts and balances are 96-bit (§2)
    uint8 internal constant FAMILIES = 10;
    uint8 internal constant FAMILY_PRIORITY = 1;
    uint8 internal constant FAMILY_WITHDRAW = 3;
    uint8 internal constant OP_NOOP = 0;
    uint8 internal constant OP_DEPOSIT = 1;
    uint8 internal constant OP_WITHDRAW = 3;
    uint8 internal constant OP_FORCED_WITHDRAW = 4;
    uint256 internal constant DEPOSIT_BYTES = 103; // pubdata (§6)
    uint256 internal constant DEPOSIT_REQUEST_BYTES = 102; // pubdata without the refused flag
    uint256 internal constant FORCED_BYTES = 38;
    uint256 internal constant FORCED_REQUEST_BYTES = 26; // pubdata without the amount
    uint256 internal constant WITHDRAW_BYTES = 40;

    // ------------------------------------------------------------------ errors

    error NotOperator();
    error NotGovernor();
    error Reentrancy();
    error ExodusActive();
    error ExodusNotActive();
    error BatchNumber(uint64 expected, uint64 got);
    error UnknownFamily(uint8 family);
    error PubdataLength(uint256 expected, uint256 got);
    error StaleRoot(uint256 expected, uint256 got);
    error NotInField();
    error BadTimestamp(uint64 last, uint64 got, uint256 blockTime);
    error PriorityMismatch(uint64 firstId, uint32 count);
    error PriorityOverflow(uint64 requested, uint64 queued);
    error BadOp(uint256 slot, uint8 opType);
    error TokenNotRegistered(address token);
    error TokenAlreadyRegistered(address token);
    error TooManyTokens();
    error AmountOutOfRange(uint256 amount);
    error AccountsFull();
    error AccountOutOfRange(uint32 account);
    error TokenOutOfRange(uint16 token);
    error TransferFailed(uint16 token, address to, uint256 amount);
    error InsufficientPending(uint256 have, uint256 want);
    error DeadlineNotReached(uint64 deadline, uint256 blockNumber);
    error NoPendingRequest();
    error AlreadyExited(uint32 account, uint16 token);
    error BadExitProof();
    error NothingToExit();
    error NotRefundable(uint64 id);
    error AlreadyRefunded(uint64 id);
    error BadRequest(uint64 id);
    error ZeroAddress();
    error PriorityFeeTooLow(uint256 paid, uint256 fee);

    // ------------------------------------------------------------------ events

    /// @notice One L1 priority request; `request` is its pubdata without the fields the
    /// operator fills in (docs/protocol.md §11.2). `rolling` is the queue hash after it.
    event PriorityRequest(uint64 indexed id, bytes request, uint64 deadline, bytes24 rolling);
    event BatchVerified(
        uint64 indexed number, uint8 family, uint256 newRoot, uint64 firstPriority, uint32 priorityCount
    );
    event PendingCredited(address indexed owner, uint16 indexed token, uint256 amount);
    event Withdrawn(address indexed owner, uint16 indexed token, address to, uint256 amount);
    event TokenRegistered(uint16 indexed id, address token);
    event OperatorChanged(address operator);
    event ExodusActivated(uint64 firstUnprocessed, uint256 blockNumber);
    event Exited(uint32 indexed account, uint16 indexed token, address to, uint256 amount);
    event Refunded(uint64 indexed id, address to, uint16 token, uint256 amount);

    // ------------------------------------------------------------------ types

    struct Config {
        address operator;
        address governor;
        uint256 operatorPkX; // the operator's L2 key: account 0 (fees), §3.1
        uint256 operatorPkY;
        uint8 accountDepth;
        uint8 balanceDepth;
        uint32 capacity; // slots per batch (types.Params.BatchCapacity)
        uint64 priorityDeadline; // blocks a priority request may wait before exodus can open
        uint256 priorityFee; // wei per priority request, paid to the operator (§11.2)
        uint64 maxBatchLag; // seconds a batch timestamp may trail the L1 block time (§11.3)
        uint256 genesisRoot;
        address[10] verifiers; // by family id - 1
    }

    /// @notice A batch as the operator submits it: the header of §8 without the fields the
    /// contract derives itself (priority range, pubdata commitment).
    struct Batch {
        uint64 number;
        uint64 timestamp;
        uint8 family;
        uint256 prevRoot;
        uint256 newRoot;
        bytes pubdata;
    }

    /// @notice A Merkle proof of a base-token balance in the last verified state (§11.5).
    struct ExitProof {
        uint32 account;
        uint16 token;
        uint256 pkX;
        uint256 pkY;
        uint32 nonce;
        address l1Address;
        uint256 balance;
        uint256 positionRoot;
        uint256 modelRoot;
        uint256[] balancePath; // 3·ceil(balanceDepth/2) siblings: three per 4-ary level, leaf level first
        uint256[] accountPath; // 3·ceil(accountDepth/2) siblings
    }

    struct QueueEntry {
        bytes24 rolling; // keccak chain over the requests up to and including this one
        uint64 deadline; // block number from which exodus may open if still unprocessed
    }

    // ------------------------------------------------------------------ configuration

    uint8 public immutable accountDepth;
    uint8 public immutable balanceDepth;
    uint32 public immutable capacity;
    uint64 public immutable priorityDeadline;
    uint256 public immutable priorityFee;
    uint64 public immutable maxBatchLag;
    uint256 public immutable domain; // C(chainId, address(this)), §1
    address public immutable governor;

    address public operator;
    address[10] internal verifiers;

    // ------------------------------------------------------------------ state

    uint256 public stateRoot; // root after the last verified batch
    uint64 public lastBatch;
    uint64 public lastTimestamp;
    mapping(uint64 => uint256) public batchRoot;

    uint64 public totalRequests; // priority requests queued
    uint64 public totalProcessed; // priority requests consumed by verified batches
    mapping(uint64 => QueueEntry) public queue;

    uint16 public tokenCount; // registered base tokens, ETH (id 0) included
    mapping(uint16 => address) public tokenAddress;
    mapping(address => uint16) internal tokenIdPlusOne;

    uint32 public accountCount; // account ids assigned (§3.1)
    mapping(bytes32 => uint32) internal accountIdPlusOne; // keccak(l1Address, pkX, pkY)

    mapping(address => mapping(uint16 => uint256)) public pending;

    bool public exodus;
    mapping(uint256 => bool) public exited; // account << 18 | asset id (§2), room for shares
    mapping(uint64 => bool) public refunded;

    uint256 private lock = 1;

    // ------------------------------------------------------------------ modifiers

    modifier nonReentrant() {
        if (lock != 1) revert Reentrancy();
        lock = 2;
        _;
        lock = 1;
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    modifier notExodus() {
        if (exodus) revert ExodusActive();
        _;
    }

    // ------------------------------------------------------------------ setup

    constructor(Config memory c) {
        if (c.operator == address(0) || c.governor == address(0)) revert ZeroAddress();
        if (c.genesisRoot >= R || c.operatorPkX >= R || c.operatorPkY >= R) revert NotInField();
        require(c.accountDepth >= 2 && c.accountDepth <= 24 && c.balanceDepth >= 1 && c.balanceDepth <= 16);
        require(c.capacity > 0 && c.priorityDeadline > 0 && c.maxBatchLag > 0);
        accountDepth = c.accountDepth;
        balanceDepth = c.balanceDepth;
        capacity = c.capacity;
        priorityDeadline = c.priorityDeadline;
        priorityFee = c.priorityFee;
        maxBatchLag = c.maxBatchLag;
        governor = c.governor;
        operator = c.operator;
        verifiers = c.verifiers;
        stateRoot = c.genesisRoot;
        domain = Poseidon2.compress(block.chainid, uint256(uint160(address(this))));
        tokenCount = 1; // ETH is token 0
        emit TokenRegistered(0, address(0));
        // Priority request 0: the operator's zero deposit creates account 0, the fee account.
        _deposit(c.operator, 0, 0, c.operatorPkX, c.operatorPkY);
    }

    // ------------------------------------------------------------------ governance

    function registerToken(address token) external {
        if (msg.sender != governor) revert NotGovernor();
        if (token == address(0)) revert ZeroAddress();
        if (tokenIdPlusOne[token] != 0) revert TokenAlreadyRegistered(token);
        if (token.code.length == 0) revert TokenNotRegistered(token); // not a contract
        uint16 id = tokenCount;
        if (uint256(id) >= (uint256(1) << balanceDepth) || id == type(uint16).max) revert TooManyTokens();
        tokenCount = id + 1;
        tokenAddress[id] = token;
        tokenIdPlusOne[token] = id + 1;
        emit TokenRegistered(id, token);
    }

    function setOperator(address op) external {
        if (msg.sender != governor) revert NotGovernor();
        if (op == address(0)) revert ZeroAddress();
        operator = op;
        emit OperatorChanged(op);
    }

    // ------------------------------------------------------------------ views

    function verifier(uint8 family) external view returns (address) {
        if (family == 0 || family > FAMILIES) revert UnknownFamily(family);
        return verifiers[family - 1];
    }

    /// @notice Pubdata bytes per slot of a family (docs/protocol.md §8).
    function slotBytes(uint8 family) public pure returns (uint256) {
        // Priority, Transfer, Withdraw, ModelAdmin, Trade, Cancel, AssetTransfer,
        // BuyCredits, RedeemCredits, ClaimRevenue
        if (family == 1) return 103;
        if (family == 2) return 16;
        if (family == 3) return 40;
        if (family == 4) return 104;
        if (family == 5) return 27;
        if (family == 6) return 11;
        if (family == 7) return 16;
        if (family == 8) return 16;
        if (family == 9) return 48;
        if (family == 10) return 8;
        revert UnknownFamily(family);
    }

    function tokenId(address token) external view returns (uint16) {
        uint16 id = tokenIdPlusOne[token];
        if (id == 0) revert TokenNotRegistered(token);
        return id - 1;
    }

    /// @notice The account id bound to (l1Address, key), or 0 and false if none yet.
    function accountOf(address l1Address, uint256 pkX, uint256 pkY) external view returns (uint32, bool) {
        uint32 id = accountIdPlusOne[keccak256(abi.encode(l1Address, pkX, pkY))];
        if (id == 0) return (0, false);
        return (id - 1, true);
    }

    /// @notice The queue hash after the first `n` requests (0 for n = 0).
    function rollingHash(uint64 n) public view returns (bytes24) {
        if (n == 0) return bytes24(0);
        return queue[n - 1].rolling;
    }

    // ------------------------------------------------------------------ deposits and requests

    /// @notice Deposits ETH to the L2 account bound to (msg.sender, key): msg.value minus
    /// the priority fee.
    function depositETH(uint256 pkX, uint256 pkY) external payable notExodus nonReentrant {
        if (msg.value < priorityFee) revert PriorityFeeTooLow(msg.value, priorityFee);
        uint256 amount = msg.value - priorityFee;
        if (amount == 0 || amount >= MAX_AMOUNT) revert AmountOutOfRange(amount);
        _payPriorityFee();
        _deposit(msg.sender, 0, amount, pkX, pkY);
    }

    /// @notice Deposits a registered ERC-20. The amount credited is what the bridge received
    /// (fee-on-transfer tokens credit less than `amount`).
    /// msg.value must be the priority fee.
    function depositERC20(address token, uint256 amount, uint256 pkX, uint256 pkY)
        external
        payable
        notExodus
        nonReentrant
    {
        if (msg.value != priorityFee) revert PriorityFeeTooLow(msg.value, priorityFee);
        _payPriorityFee();
        uint16 id = tokenIdPlusOne[token];
        if (id == 0) revert TokenNotRegistered(token);
        id -= 1;
        uint256 before = _balanceOf(token);
        _safeTransferFrom(token, msg.sender, amount);
        uint256 received = _balanceOf(token) - before;
        if (received == 0 || received >= MAX_AMOUNT) revert AmountOutOfRange(received);
        _deposit(msg.sender, id, received, pkX, pkY);
    }

    /// @notice Asks the operator to withdraw the whole `token` balance of `account` to
    /// msg.sender (paid only if msg.sender is the account's L1 address). If it is not
    /// processed within `priorityDeadline` blocks, anyone can activate exodus.
    /// msg.value must be the priority fee, which makes flooding the queue (to force exodus)
    /// cost the flooder what processing it costs the operator.
    function requestForcedWithdraw(uint32 account, uint16 token) external payable notExodus {
        if (msg.value != priorityFee) revert PriorityFeeTooLow(msg.value, priorityFee);
        _payPriorityFee();
        if (uint256(account) >= (uint256(1) << accountDepth)) revert AccountOutOfRange(account);
        if (token >= tokenCount) revert TokenOutOfRange(token);
        _enqueue(abi.encodePacked(OP_FORCED_WITHDRAW, uint24(account), token, msg.sender));
    }

    function _deposit(address from, uint16 token, uint256 amount, uint256 pkX, uint256 pkY) internal {
        if (pkX >= R || pkY >= R) revert NotInField();
        bytes32 pair = keccak256(abi.encode(from, pkX, pkY));
        uint32 id = accountIdPlusOne[pair];
        if (id == 0) {
            id = accountCount;
            if (uint256(id) >= (uint256(1) << accountDepth)) revert AccountsFull();
            accountCount = id + 1;
            accountIdPlusOne[pair] = id + 1;
        } else {
            id -= 1;
        }
        _enqueue(abi.encodePacked(OP_DEPOSIT, uint24(id), token, uint96(amount), from, pkX, pkY));
    }

    function _payPriorityFee() internal {
        if (priorityFee > 0) _credit(operator, 0, priorityFee);
    }

    function _enqueue(bytes memory request) internal {
        uint64 id = totalRequests;
        bytes24 rolling = bytes24(keccak256(abi.encodePacked(rollingHash(id), request)));
        uint64 deadline = uint64(block.number) + priorityDeadline;
        queue[id] = QueueEntry(rolling, deadline);
        totalRequests = id + 1;
        emit PriorityRequest(id, request, deadline, rolling);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Commits and verifies batch `b` in one step (docs/protocol.md §11.3).
    function commitBatch(Batch calldata b, bytes calldata proof) external onlyOperator notExodus {
        if (b.number != lastBatch + 1) revert BatchNumber(lastBatch + 1, b.number);
        if (b.family == 0 || b.family > FAMILIES) revert UnknownFamily(b.family);
        address v = verifiers[b.family - 1];
        if (v == address(0)) revert UnknownFamily(b.family);
        uint256 sb = slotBytes(b.family);
        if (b.pubdata.length != sb * capacity) revert PubdataLength(sb * capacity, b.pubdata.length);
        if (b.prevRoot != stateRoot) revert StaleRoot(stateRoot, b.prevRoot);
        if (b.newRoot >= R) revert NotInField();
        if (b.timestamp < lastTimestamp || b.timestamp > block.timestamp || b.timestamp + maxBatchLag < block.timestamp) {
            revert BadTimestamp(lastTimestamp, b.timestamp, block.timestamp);
        }

        uint64 first = totalProcessed;
        uint32 count;
        if (b.family == FAMILY_PRIORITY) {
            count = _consumePriority(b.pubdata, first);
        } else if (b.family == FAMILY_WITHDRAW) {
            _payWithdrawals(b.pubdata);
        }

        uint256 word = (uint256(b.number) << 160) | (uint256(b.timestamp) << 96) | (uint256(first) << 32) | count;
        uint256 h = Poseidon2.compress(0, domain);
        h = Poseidon2.compress(h, word);
        h = Poseidon2.compress(h, b.prevRoot);
        h = Poseidon2.compress(h, b.newRoot);
        h = Poseidon2.compress(h, Poseidon2.commitment(b.pubdata, sb));
        IVerifier(v).verifyProof(proof, [h]);

        stateRoot = b.newRoot;
        lastBatch = b.number;
        lastTimestamp = b.timestamp;
        batchRoot[b.number] = b.newRoot;
        totalProcessed = first + count;
        emit BatchVerified(b.number, b.family, b.newRoot, first, count);
    }

    /// @dev Checks the batch's priority operations against the queue (in order, none
    /// skipped, none repeated) and credits refused deposits and forced withdrawals.
    function _consumePriority(bytes calldata pubdata, uint64 first) internal returns (uint32 count) {
        bytes24 h = rollingHash(first);
        for (uint256 off = 0; off < pubdata.length; off += DEPOSIT_BYTES) {
            uint8 op = uint8(pubdata[off]);
            if (op == OP_NOOP) break; // used slots come first; the proof binds the rest
            if (op == OP_DEPOSIT) {
                h = bytes24(keccak256(abi.encodePacked(h, pubdata[off], pubdata[off + 2:off + DEPOSIT_BYTES])));
                if (pubdata[off + 1] != 0) {
                    // refused by L2 (§5.1): the deposit goes back to its L1 address
                    uint16 token = uint16(bytes2(pubdata[off + 5:off + 7]));
                    uint256 amount = uint96(bytes12(pubdata[off + 7:off + 19]));
                    address to = address(bytes20(pubdata[off + 19:off + 39]));
                    _credit(to, token, amount);
                }
            } else if (op == OP_FORCED_WITHDRAW) {
                h = bytes24(keccak256(abi.encodePacked(h, pubdata[off:off + FORCED_REQUEST_BYTES])));
                uint256 amount = uint96(bytes12(pubdata[off + 26:off + FORCED_BYTES]));
                if (amount > 0) {
                    uint16 token = uint16(bytes2(pubdata[off + 4:off + 6]));
                    address to = address(bytes20(pubdata[off + 6:off + 26]));
                    _credit(to, token, amount);
                }
            } else {
                revert BadOp(off / DEPOSIT_BYTES, op);
            }
            count++;
        }
        if (uint256(first) + count > totalRequests) revert PriorityOverflow(uint64(first) + count, totalRequests);
        if (count > 0 && queue[first + count - 1].rolling != h) revert PriorityMismatch(first, count);
    }

    function _payWithdrawals(bytes calldata pubdata) internal {
        for (uint256 off = 0; off < pubdata.length; off += WITHDRAW_BYTES) {
            uint8 op = uint8(pubdata[off]);
            if (op == OP_NOOP) break;
            if (op != OP_WITHDRAW) revert BadOp(off / WITHDRAW_BYTES, op);
            // type 8, account 24, token 16, amount 96, fee 16, to 160
            uint16 token = uint16(bytes2(pubdata[off + 4:off + 6]));
            uint256 amount = uint96(bytes12(pubdata[off + 6:off + 18]));
            address to = address(bytes20(pubdata[off + 20:off + 40]));
            _credit(to, token, amount);
        }
    }

    function _credit(address to, uint16 token, uint256 amount) internal {
        pending[to][token] += amount;
        emit PendingCredited(to, token, amount);
    }

    // ------------------------------------------------------------------ withdrawals (pull)

    /// @notice Pays `amount` of msg.sender's pending balance of `token` to `to`.
    function withdraw(uint16 token, uint256 amount, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 have = pending[msg.sender][token];
        if (amount == 0 || amount > have) revert InsufficientPending(have, amount);
        pending[msg.sender][token] = have - amount; // effects before the interaction
        if (!_pay(token, to, amount)) revert TransferFailed(token, to, amount);
        emit Withdrawn(msg.sender, token, to, amount);
    }

    /// @notice Pays the whole pending balance of `owner` in `token` to `owner`; anyone may
    /// call it (relayers, the CLI's claim helper).
    function claim(address owner, uint16 token) external nonReentrant {
        uint256 amount = pending[owner][token];
        if (amount == 0) revert InsufficientPending(0, 0);
        pending[owner][token] = 0;
        if (!_pay(token, owner, amount)) revert TransferFailed(token, owner, amount);
        emit Withdrawn(owner, token, owner, amount);
    }

    // ------------------------------------------------------------------ escape hatch

    /// @notice Opens exodus mode once the oldest unprocessed priority request has reached
    /// its deadline block. After that no batch is accepted.
    function activateExodus() external notExodus {
        uint64 first = totalProcessed;
        if (first >= totalRequests) revert NoPendingRequest();
        uint64 deadline = queue[first].deadline;
        if (block.number < deadline) revert DeadlineNotReached(deadline, block.number);
        exodus = true;
        emit ExodusActivated(first, block.number);
    }

    /// @notice Pays an account's whole balance of a base token in the last verified state
    /// to the account's L1 address, once per (account, token). A receiver that refuses the
    /// payment gets it as a pending balance instead (withdrawable to another address).
    function exit(ExitProof calldata e) external nonReentrant {
        if (!exodus) revert ExodusNotActive();
        if (uint256(e.account) >= (uint256(1) << accountDepth)) revert AccountOutOfRange(e.account);
        if (e.token >= tokenCount) revert TokenOutOfRange(e.token);
        uint256 key = (uint256(e.account) << 18) | e.token; // asset id: kind 0 (base token) ‖ index
        if (exited[key]) revert AlreadyExited(e.account, e.token);
        if (e.balancePath.length != _pathLength(balanceDepth) || e.accountPath.length != _pathLength(accountDepth)) {
            revert BadExitProof();
        }
        if (e.pkX >= R || e.pkY >= R || e.positionRoot >= R || e.modelRoot >= R) revert NotInField();
        if (e.balance >= MAX_AMOUNT) revert AmountOutOfRange(e.balance);
        if (_exitRoot(e) != stateRoot) revert BadExitProof();
        if (e.balance == 0) revert NothingToExit();

        exited[key] = true; // effects before the interaction
        emit Exited(e.account, e.token, e.l1Address, e.balance);
        if (!_pay(e.token, e.l1Address, e.balance)) _credit(e.l1Address, e.token, e.balance);
    }

    /// @dev Siblings of a Merkle path in a 4-ary tree of `depth` bits (docs/protocol.md §3).
    function _pathLength(uint8 depth) internal pure returns (uint256) {
        return 3 * ((uint256(depth) + 1) / 2);
    }

    /// @dev Folds `node` up a 4-ary path: at each level the node takes position
    /// `idx & 3` among its three siblings (ascending order), then `idx >>= 2`.
    function _fold(uint256 node, uint256 idx, uint256[] calldata path) internal pure returns (uint256) {
        for (uint256 i = 0; i < path.length; i += 3) {
            uint256 s0 = path[i];
            uint256 s1 = path[i + 1];
            uint256 s2 = path[i + 2];
            if (s0 >= R || s1 >= R || s2 >= R) revert NotInField();
            uint256 pos = idx & 3;
            // positions 0..3: [node s0 s1 s2], [s0 node s1 s2], [s0 s1 node s2], [s0 s1 s2 node]
            node = Poseidon2.compress4(
                pos == 0 ? node : s0,
                pos == 1 ? node : (pos == 0 ? s0 : s1),
                pos == 2 ? node : (pos == 3 ? s2 : s1),
                pos == 3 ? node : s2
            );
            idx >>= 2;
        }
        return node;
    }

    function _exitRoot(ExitProof calldata e) internal pure returns (uint256) {
        uint256 balanceRoot = _fold(e.balance, e.token, e.balancePath);
        uint256 leaf = Poseidon2.compress4(
            Poseidon2.compress4(e.pkX, e.pkY, e.nonce, uint256(uint160(e.l1Address))), balanceRoot, e.positionRoot, 0
        );
        return Poseidon2.compress(_fold(leaf, e.account, e.accountPath), e.modelRoot);
    }

    /// @notice In exodus, refunds a deposit no batch processed, once. `request` is the
    /// request bytes of its PriorityRequest event.
    function refundDeposit(uint64 id, bytes calldata request) external nonReentrant {
        if (!exodus) revert ExodusNotActive();
        if (id < totalProcessed || id >= totalRequests) revert NotRefundable(id);
        if (refunded[id]) revert AlreadyRefunded(id);
        if (request.length != DEPOSIT_REQUEST_BYTES || uint8(request[0]) != OP_DEPOSIT) revert BadRequest(id);
        if (bytes24(keccak256(abi.encodePacked(rollingHash(id), request))) != queue[id].rolling) revert BadRequest(id);
        // type 8, account 24, token 16, amount 96, l1Address 160, pkX, pkY
        uint16 token = uint16(bytes2(request[4:6]));
        uint256 amount = uint96(bytes12(request[6:18]));
        address to = address(bytes20(request[18:38]));
        if (amount == 0) revert NotRefundable(id);

        refunded[id] = true; // effects before the interaction
        emit Refunded(id, to, token, amount);
        if (!_pay(token, to, amount)) _credit(to, token, amount);
    }

    // ------------------------------------------------------------------ token handling

    /// @dev Pays ETH or a registered token; false if the receiver or the token refused.
    /// Tokens that return no value are accepted (a call to code that returns nothing).
    function _pay(uint16 token, address to, uint256 amount) internal returns (bool ok) {
        if (token == 0) {
            (ok,) = to.call{value: amount}("");
            return ok;
        }
        address t = tokenAddress[token];
        bytes memory ret;
        (ok, ret) = t.call(abi.encodeWithSelector(0xa9059cbb, to, amount)); // transfer(address,uint256)
        return ok && _returnedTrue(ret) && t.code.length > 0;
    }

    function _safeTransferFrom(address token, address from, uint256 amount) internal {
        // transferFrom(address,address,uint256)
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0x23b872dd, from, address(this), amount));
        if (!ok || !_returnedTrue(ret)) revert TransferFailed(tokenIdPlusOne[token] - 1, address(this), amount);
    }

    function _returnedTrue(bytes memory ret) internal pure returns (bool) {
        if (ret.length == 0) return true; // no return value (USDT-style)
        return ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    function _balanceOf(address token) internal view returns (uint256) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length < 32) revert TokenNotRegistered(token);
        return abi.decode(ret, (uint256));
    }
}
