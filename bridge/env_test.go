package bridge

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// The contract tests run real batches: native apply, the batch circuit at
// test depths with capacity 2, a dev setup per family (cached for the
// package), the CPU prover, and the exported verifiers on the simulated chain.

func testParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 2
	return p
}

type familySetup struct {
	keys *prover.Keys
	code []byte // the exported verifier's bytecode
}

var (
	setupMu sync.Mutex
	setups  = map[types.Family]*familySetup{}
)

// setupFor compiles the family's batch circuit, runs a dev setup and compiles
// its Solidity verifier, once per test binary.
func setupFor(t testing.TB, f types.Family) *familySetup {
	t.Helper()
	setupMu.Lock()
	defer setupMu.Unlock()
	if s := setups[f]; s != nil {
		return s
	}
	p := testParams()
	shape, err := circuits.NewBatch(f, p)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := prover.Compile(shape, circuits.BatchKey(f, p), "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	code, err := VerifierDeployCode(keys.VK)
	if err != nil {
		t.Fatal(err)
	}
	s := &familySetup{keys: keys, code: code}
	setups[f] = s
	return s
}

// actor is an L1 account with an L2 key.
type actor struct {
	name    string
	key     *ecdsa.PrivateKey
	addr    common.Address
	l2      *types.PrivateKey
	pk      types.PubKey
	account uint32 // L2 account id, once a deposit has assigned one
	nonce   uint32 // next L2 nonce
}

type env struct {
	t        testing.TB
	ctx      context.Context
	p        types.Params
	sim      *simulated.Backend
	l1       simulated.Client
	chainID  *big.Int
	op, gov  *actor
	users    []*actor
	c        *Contract
	db       *state.DB
	d        types.Domain
	applied  uint64 // priority requests applied to the native state
	families []types.Family
	sealed   []*state.SealedBatch
}

type envOpts struct {
	families []types.Family // verifiers to deploy (Priority is always deployed)
	deadline uint64         // priority deadline in blocks (default 50)
	users    int            // default 3
	fee      *big.Int       // priority fee (default 0)
}

var seedCounter uint64
var seedMu sync.Mutex

func newActor(t testing.TB, name string) *actor {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seedMu.Lock()
	seedCounter++
	seed := seedCounter
	seedMu.Unlock()
	l2, err := workload.Key(int(1000 + seed))
	if err != nil {
		t.Fatal(err)
	}
	return &actor{name: name, key: k, addr: crypto.PubkeyToAddress(k.PublicKey), l2: l2, pk: types.PublicKeyOf(l2)}
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.deadline == 0 {
		o.deadline = 50
	}
	if o.users == 0 {
		o.users = 3
	}
	e := &env{t: t, ctx: context.Background(), p: testParams()}
	e.op, e.gov = newActor(t, "operator"), newActor(t, "governor")
	alloc := ethtypes.GenesisAlloc{}
	rich := new(big.Int).Lsh(big.NewInt(1), 100)
	alloc[e.op.addr] = ethtypes.Account{Balance: rich}
	alloc[e.gov.addr] = ethtypes.Account{Balance: rich}
	for i := 0; i < o.users; i++ {
		u := newActor(t, fmt.Sprintf("user%d", i))
		e.users = append(e.users, u)
		alloc[u.addr] = ethtypes.Account{Balance: new(big.Int).Mul(big.NewInt(1000), ether)}
	}
	e.sim = simulated.NewBackend(alloc)
	t.Cleanup(func() { e.sim.Close() })
	e.l1 = e.sim.Client()
	id, err := e.l1.ChainID(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.chainID = id

	e.families = append([]types.Family{types.FamilyPriority}, o.families...)
	verifiers := map[types.Family]common.Address{}
	for _, f := range e.families {
		s := setupFor(t, f)
		verifiers[f] = e.deployCode(e.op, s.code, nil)
	}
	db, err := state.Open(e.p, types.Domain{}, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := db.Root(0)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	addr, tx, err := DeployTx(e.opts(e.op), e.l1, DeployConfig{
		Params: e.p, Operator: e.op.addr, Governor: e.gov.addr, OperatorKey: e.op.pk,
		PriorityDeadline: o.deadline, GenesisRoot: genesis, Verifiers: verifiers, PriorityFee: o.fee,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Commit()
	if _, err := WaitSuccess(e.ctx, e.l1, tx); err != nil {
		t.Fatal(err)
	}
	e.c = NewContract(e.l1, addr)
	e.d = types.Domain{ChainID: id.Uint64(), Bridge: addr}
	e.db, err = state.Open(e.p, e.d, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	return e
}

var ether = big.NewInt(1_000_000_000_000_000_000)

// opts is a transactor for a.
func (e *env) opts(a *actor) *bind.TransactOpts {
	o := bind.NewKeyedTransactor(a.key, e.chainID)
	o.Context = e.ctx
	return o
}

// deployCode deploys code with constructor arguments args.
func (e *env) deployCode(from *actor, code, args []byte) common.Address {
	e.t.Helper()
	r, err := e.send(from, nil, nil, append(append([]byte{}, code...), args...))
	if err != nil {
		e.t.Fatalf("deploy: %v", err)
	}
	return r.ContractAddress
}

// send signs, sends and mines one transaction. A transaction that would
// revert is not sent: the error is the revert as a *ContractError.
func (e *env) send(from *actor, to *common.Address, value *big.Int, data []byte) (*ethtypes.Receipt, error) {
	e.t.Helper()
	gas, err := e.l1.EstimateGas(e.ctx, ethereum.CallMsg{From: from.addr, To: to, Value: value, Data: data})
	if err != nil {
		return nil, Revert(err)
	}
	r := e.mine(from, to, value, data, gas+gas/4)
	if r.Status != ethtypes.ReceiptStatusSuccessful {
		return r, fmt.Errorf("%w: %s", ErrReverted, r.TxHash)
	}
	return r, nil
}

// mine signs, sends and mines one transaction with a fixed gas limit and
// returns its receipt, whatever its status.
func (e *env) mine(from *actor, to *common.Address, value *big.Int, data []byte, gas uint64) *ethtypes.Receipt {
	e.t.Helper()
	nonce, err := e.l1.PendingNonceAt(e.ctx, from.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	if value == nil {
		value = new(big.Int)
	}
	tx, err := ethtypes.SignNewTx(from.key, ethtypes.LatestSignerForChainID(e.chainID), &ethtypes.DynamicFeeTx{
		ChainID: e.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.l1.SendTransaction(e.ctx, tx); err != nil {
		e.t.Fatal(err)
	}
	e.sim.Commit()
	r, err := e.l1.TransactionReceipt(e.ctx, tx.Hash())
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// must fails the test on error and returns the receipt.
func (e *env) must(r *ethtypes.Receipt, err error) *ethtypes.Receipt {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// call sends to the bridge.
func (e *env) call(from *actor, value *big.Int, data []byte) (*ethtypes.Receipt, error) {
	e.t.Helper()
	return e.send(from, &e.c.Address, value, data)
}

// wantRevert checks that err is the bridge's (or verifier's) custom error name.
func wantRevert(t testing.TB, err error, name string) {
	t.Helper()
	var ce *ContractError
	if !errors.As(err, &ce) {
		t.Fatalf("want revert %s, got %v", name, err)
	}
	if ce.Name != name {
		t.Fatalf("want revert %s, got %s (%+v)", name, ce.Name, ce.Value)
	}
}

// ---------------------------------------------------------------- L1 actions

func (e *env) depositETH(u *actor, wei *big.Int) *ethtypes.Receipt {
	e.t.Helper()
	return e.must(e.call(u, wei, ABI.PackDepositETH(elemBig(u.pk.X), elemBig(u.pk.Y))))
}

func (e *env) registerToken(token common.Address) uint16 {
	e.t.Helper()
	e.must(e.call(e.gov, nil, ABI.PackRegisterToken(token)))
	id, err := view(e.ctx, e.c, ABI.PackTokenId(token), ABI.UnpackTokenId)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// deployToken deploys a TestToken and registers it.
func (e *env) deployToken(name string) (common.Address, uint16) {
	e.t.Helper()
	tt := bindings.NewTestToken()
	addr := e.deployCode(e.gov, common.FromHex(bindings.TestTokenMetaData.Bin), tt.PackConstructor(name))
	return addr, e.registerToken(addr)
}

// ---------------------------------------------------------------- L2 side

// requests returns the priority requests from id `from` on, from the events.
func (e *env) requests(from uint64) []types.Tx {
	e.t.Helper()
	ev := EventID("PriorityRequest")
	logs, err := e.l1.FilterLogs(e.ctx, ethereum.FilterQuery{Addresses: []common.Address{e.c.Address}, Topics: [][]common.Hash{{ev}}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []types.Tx
	for i := range logs {
		r, err := ABI.UnpackPriorityRequestEvent(&logs[i])
		if err != nil {
			e.t.Fatal(err)
		}
		if r.Id < from {
			continue
		}
		tx, err := DecodeRequest(r.Id, r.Request)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, tx)
	}
	return out
}

// timestamp is a batch timestamp the next block accepts.
func (e *env) timestamp() uint64 {
	h, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return h.Time
}

// seal applies txs natively as one batch (nil if one is refused) and seals it.
func (e *env) seal(txs ...types.Tx) (*state.SealedBatch, error) {
	e.t.Helper()
	b, err := e.db.NewBatch(e.timestamp())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tx := range txs {
		if _, err := b.Add(tx); err != nil {
			b.Discard()
			return nil, err
		}
	}
	return b.Seal()
}

// sealQueued seals every queued priority request from id `from` on as one
// native batch (not committed) and returns it with the requests.
func (e *env) sealQueued(from uint64) (*state.SealedBatch, []types.Tx) {
	e.t.Helper()
	reqs := e.requests(from)
	sb, err := e.seal(reqs...)
	if err != nil {
		e.t.Fatal(err)
	}
	return sb, reqs
}

// prove proves a sealed batch with its family's dev keys.
func (e *env) prove(sb *state.SealedBatch) *prover.Proof {
	e.t.Helper()
	s := setupFor(e.t, sb.Header.Family)
	c, err := circuits.AssignBatch(e.p, e.d, sb)
	if err != nil {
		e.t.Fatal(err)
	}
	proof, err := prover.NewCPU(s.keys).Prove(e.ctx, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return proof
}

// commitData is the commitBatch calldata of a sealed batch with its proof.
func (e *env) commitData(sb *state.SealedBatch, proof *prover.Proof) []byte {
	e.t.Helper()
	data, err := CommitData(&sb.Header, sb.Pubdata, proof)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// rollback drops native batches after n (a batch the contract refused).
func (e *env) rollback(n uint64) {
	e.t.Helper()
	if err := e.db.Store().Rollback(n); err != nil {
		e.t.Fatal(err)
	}
}

// commit seals, proves and commits a batch of txs; it must be accepted.
func (e *env) commit(txs ...types.Tx) *ethtypes.Receipt {
	e.t.Helper()
	sb, err := e.seal(txs...)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.call(e.op, nil, e.commitData(sb, e.prove(sb)))
	if err != nil {
		e.t.Fatalf("batch %d (%v) refused: %v", sb.Header.Number, sb.Header.Family, err)
	}
	e.sealed = append(e.sealed, sb)
	return r
}

// flush brings every queued priority request into proven batches.
func (e *env) flush() {
	e.t.Helper()
	reqs := e.requests(e.applied)
	for len(reqs) > 0 {
		n := min(len(reqs), e.p.BatchCapacity)
		e.commit(reqs[:n]...)
		for _, tx := range reqs[:n] {
			e.bind(tx)
		}
		e.applied += uint64(n)
		reqs = reqs[n:]
	}
}

// bind records the account id a deposit assigned to its actor.
func (e *env) bind(tx types.Tx) {
	d, ok := tx.(*types.Deposit)
	if !ok {
		return
	}
	for _, a := range append([]*actor{e.op}, e.users...) {
		if a.addr == d.L1Address && a.pk.Equal(d.PubKey) {
			a.account = d.Account
		}
	}
}

// signed signs an L2 transaction of u with u's next nonce.
func (e *env) signed(u *actor, tx types.SignedTx) types.SignedTx {
	e.t.Helper()
	tx.SetNonce(u.nonce)
	if err := types.SignTx(u.l2, e.d, tx); err != nil {
		e.t.Fatal(err)
	}
	u.nonce++
	return tx
}

// withdrawTx is u's signed L2 withdrawal of amount (no fee) to an L1 address.
func (e *env) withdrawTx(u *actor, token uint16, amount *big.Int, to common.Address) types.Tx {
	w := &types.Withdraw{Account: u.account, Token: token, To: to}
	w.Amount.SetFromBig(amount)
	return e.signed(u, w)
}

// balance is an L1 balance of ETH (token == zero address) or an ERC-20.
func (e *env) balance(token, who common.Address) *big.Int {
	e.t.Helper()
	if token == (common.Address{}) {
		b, err := e.l1.BalanceAt(e.ctx, who, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		return b
	}
	tt := bindings.NewTestToken()
	out, err := e.l1.CallContract(e.ctx, ethereum.CallMsg{To: &token, Data: tt.PackBalanceOf(who)}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := tt.UnpackBalanceOf(out)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// l2Balance is an account's native balance of a token after the last batch.
func (e *env) l2Balance(account uint32, token uint16) *uint256.Int {
	e.t.Helper()
	st, release, err := e.db.View(e.db.Head())
	if err != nil {
		e.t.Fatal(err)
	}
	defer release()
	b, err := st.Balance(account, token)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// gasCost is what a receipt cost its sender.
func gasCost(r *ethtypes.Receipt) *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
}
