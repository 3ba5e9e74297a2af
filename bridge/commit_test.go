package bridge

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestCommitRejects: every revert path of commitBatch (docs/protocol.md §11.3,
// SECURITY items 13 and 14) with its own custom error. Forged batches are built
// natively (the native state takes any deposit content in PriorityID order) and
// proven for real, so only the contract's check stands between them and the
// chain. Each refused transaction is also mined (it reverts on chain) and the
// batch state (lastBatch, stateRoot, totalProcessed, …) is unchanged; correct
// batches are accepted afterwards.
func TestCommitRejects(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{})
	op, alice, bob, carol := e.op, e.users[0], e.users[1], e.users[2]
	e.depositETH(alice, big.NewInt(1e18)) // request 1
	e.depositETH(bob, big.NewInt(2e18))   // request 2
	e.depositETH(carol, big.NewInt(3e18)) // request 3
	reqs := e.requests(0)
	if len(reqs) != 4 {
		t.Fatalf("%d requests queued, want 4", len(reqs))
	}

	// Batch 1: requests 0 and 1, accepted; its proof is kept for a replay.
	sb1 := ctSeal(t, e, reqs[0], reqs[1])
	p1 := e.prove(sb1)
	e.must(e.call(op, nil, e.commitData(sb1, p1)))
	ctWantState(t, e, 1, sb1.Header.NewRoot, 2)

	// Forged priority batches on top of batch 1, each proven for real.
	dep := func(i int) *types.Deposit { return reqs[i].(*types.Deposit) }
	altered := ctAs(dep(2), 2)
	altered.Amount.AddUint64(&altered.Amount, 1)
	for _, c := range []struct {
		name string
		txs  []types.Tx
		want string
	}{
		{"skipped (request 3 under id 2)", []types.Tx{ctAs(dep(3), 2)}, "PriorityMismatch"},
		{"duplicated (request 2 twice)", []types.Tx{ctAs(dep(2), 2), ctAs(dep(2), 3)}, "PriorityMismatch"},
		{"reordered (3 then 2)", []types.Tx{ctAs(dep(3), 2), ctAs(dep(2), 3)}, "PriorityMismatch"},
		{"altered (amount + 1 wei)", []types.Tx{altered}, "PriorityMismatch"},
	} {
		sb := ctSeal(t, e, c.txs...)
		ctRefuse(t, e, c.name, op, e.commitData(sb, e.prove(sb)), c.want)
		e.rollback(1)
	}

	// A wrong previous root: batch 2 sealed on another native history (batch 1
	// with alice's deposit 1 wei larger), with the same number and priority range.
	other := ctOpenDB(t, e)
	alice1 := ctAs(dep(1), 1)
	alice1.Amount.AddUint64(&alice1.Amount, 1)
	ctSealOn(t, other, e.timestamp(), reqs[0], alice1)
	stale := ctSealOn(t, other, e.timestamp(), ctAs(dep(2), 2), ctAs(dep(3), 3))
	if stale.Header.Number != 2 || stale.Header.FirstPriority != 2 || stale.Header.PrevRoot == sb1.Header.NewRoot {
		t.Fatalf("stale batch header %+v", stale.Header)
	}
	ctRefuse(t, e, "batch sealed on another state", op, e.commitData(stale, e.prove(stale)), "StaleRoot")

	// The correct batch 2, then every header or proof variation of it.
	sb2 := ctSeal(t, e, ctAs(dep(2), 2), ctAs(dep(3), 3))
	p2 := e.prove(sb2)
	proof2, proof1 := ctProofBytes(t, p2), ctProofBytes(t, p1)
	last := ctSnap(t, e).lastTimestamp
	r := fr.Modulus()
	type edit func(b *bindings.ModexBatch, proof *[]byte)
	for _, c := range []struct {
		name string
		from *actor
		edit edit
		want string
	}{
		{"proof byte changed", op, func(_ *bindings.ModexBatch, p *[]byte) { (*p)[255] ^= 1 }, "ProofInvalid"},
		{"proof point A negated (on the curve)", op, func(_ *bindings.ModexBatch, p *[]byte) { ctNegateA(*p) }, "ProofInvalid"},
		{"proof of batch 1", op, func(_ *bindings.ModexBatch, p *[]byte) { *p = proof1 }, "ProofInvalid"},
		{"non-operator", alice, nil, "NotOperator"},
		{"governor", e.gov, nil, "NotOperator"},
		{"number lastBatch", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Number = 1 }, "BatchNumber"},
		{"number lastBatch+2", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Number = 3 }, "BatchNumber"},
		{"prevRoot + r", op, func(b *bindings.ModexBatch, _ *[]byte) { b.PrevRoot.Add(b.PrevRoot, r) }, "StaleRoot"},
		{"newRoot + r", op, func(b *bindings.ModexBatch, _ *[]byte) { b.NewRoot.Add(b.NewRoot, r) }, "NotInField"},
		{"newRoot = 2^256-1", op, func(b *bindings.ModexBatch, _ *[]byte) {
			b.NewRoot.Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
		}, "NotInField"},
		{"pubdata one byte long", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Pubdata = append(b.Pubdata, 0) }, "PubdataLength"},
		{"pubdata one byte short", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Pubdata = b.Pubdata[:len(b.Pubdata)-1] }, "PubdataLength"},
		{"pubdata empty", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Pubdata = nil }, "PubdataLength"},
		{"family 0", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Family = 0 }, "UnknownFamily"},
		{"family 11", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Family = 11 }, "UnknownFamily"},
		{"family 255", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Family = 255 }, "UnknownFamily"},
		{"family 2 (no verifier)", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Family = uint8(types.FamilyTransfer) }, "UnknownFamily"},
		{"timestamp in the future", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Timestamp = e.timestamp() + 3600 }, "BadTimestamp"},
		{"timestamp below the last", op, func(b *bindings.ModexBatch, _ *[]byte) { b.Timestamp = last - 1 }, "BadTimestamp"},
	} {
		b := BatchArg(&sb2.Header, append([]byte(nil), sb2.Pubdata...))
		p := append([]byte(nil), proof2...)
		if c.edit != nil {
			c.edit(&b, &p)
		}
		data, err := ABI.TryPackCommitBatch(b, p)
		if err != nil {
			t.Fatal(err)
		}
		ctRefuse(t, e, c.name, c.from, data, c.want)
	}
	e.must(e.call(op, nil, e.commitData(sb2, p2)))
	ctWantState(t, e, 2, sb2.Header.NewRoot, 4)

	// Replays: the accepted batches again.
	ctRefuse(t, e, "batch 2 replayed", op, e.commitData(sb2, p2), "BatchNumber")
	ctRefuse(t, e, "batch 1 replayed", op, e.commitData(sb1, p1), "BatchNumber")

	// More operations than queued: request 4 and an invented request 5.
	e.depositETH(alice, big.NewInt(4e18)) // request 4
	reqs = e.requests(0)
	sb := ctSeal(t, e, reqs[4], ctAs(dep(2), 5))
	ctRefuse(t, e, "more operations than queued", op, e.commitData(sb, e.prove(sb)), "PriorityOverflow")
	e.rollback(2)

	// Out of order: batch 4 before batch 3, then both in order.
	e.depositETH(bob, big.NewInt(5e18)) // request 5
	reqs = e.requests(0)
	sb3 := ctSeal(t, e, reqs[4])
	sb4 := ctSeal(t, e, reqs[5])
	d3, d4 := e.commitData(sb3, e.prove(sb3)), e.commitData(sb4, e.prove(sb4))
	ctRefuse(t, e, "batch 4 before batch 3", op, d4, "BatchNumber")
	e.must(e.call(op, nil, d3))
	ctRefuse(t, e, "batch 3 replayed", op, d3, "BatchNumber")
	e.must(e.call(op, nil, d4))
	ctWantState(t, e, 4, sb4.Header.NewRoot, 6)
}

// TestCommitPriorityCredits: a priority batch credits a refused deposit (a key
// off the curve, §5.1) to its depositor's pending balance, a forced withdrawal
// by the account's own L1 address to that address, and a forced withdrawal by
// anyone else nothing.
func TestCommitPriorityCredits(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{})
	alice, bob, carol := e.users[0], e.users[1], e.users[2]
	twoEth, oneEth := big.NewInt(2e18), big.NewInt(1e18)
	e.depositETH(alice, twoEth)                                                     // request 1
	e.must(e.call(carol, oneEth, ABI.PackDepositETH(big.NewInt(1), big.NewInt(1)))) // request 2: (1,1) is off the curve
	reqs := e.requests(0)
	aliceAcct := reqs[1].(*types.Deposit).Account
	e.must(e.call(bob, nil, ABI.PackRequestForcedWithdraw(aliceAcct, 0)))   // request 3: not alice's address
	e.must(e.call(alice, nil, ABI.PackRequestForcedWithdraw(aliceAcct, 0))) // request 4
	reqs = e.requests(0)
	if len(reqs) != 5 {
		t.Fatalf("%d requests queued, want 5", len(reqs))
	}

	e.commit(reqs[0], reqs[1])
	ctWantPending(t, e, alice, 0)
	ctWantPending(t, e, carol, 0)

	e.commit(reqs[2], reqs[3])
	refused := reqs[2].(*types.Deposit)
	if !refused.Refused {
		t.Fatal("the deposit with key (1,1) was not refused natively")
	}
	if sb := e.sealed[len(e.sealed)-1]; sb.Pubdata[1] != 1 {
		t.Fatalf("refused byte %d in pubdata, want 1", sb.Pubdata[1])
	}
	if fw := reqs[3].(*types.ForcedWithdraw); !fw.Amount.IsZero() {
		t.Fatalf("bob's forced withdrawal of alice's account: amount %v, want 0", &fw.Amount)
	}
	ctWantPending(t, e, carol, 1e18) // the refund of the refused deposit
	ctWantPending(t, e, bob, 0)
	ctWantPending(t, e, alice, 0)
	if got := e.l2Balance(aliceAcct, 0); got.Cmp(uint256.NewInt(2e18)) != 0 {
		t.Fatalf("alice's L2 balance %v after bob's forced withdrawal, want 2 ETH", got)
	}

	e.commit(reqs[4])
	if fw := reqs[4].(*types.ForcedWithdraw); fw.Amount.Cmp(uint256.NewInt(2e18)) != 0 {
		t.Fatalf("alice's forced withdrawal: amount %v, want 2 ETH", &fw.Amount)
	}
	ctWantPending(t, e, alice, 2e18)
	ctWantPending(t, e, bob, 0)
	ctWantPending(t, e, carol, 1e18)
	if got := e.l2Balance(aliceAcct, 0); !got.IsZero() {
		t.Fatalf("alice's L2 balance %v after her forced withdrawal, want 0", got)
	}

	// Anyone may claim carol's refund for her: she receives exactly 1 ETH.
	before := e.balance(common.Address{}, carol.addr)
	e.must(e.call(bob, nil, ABI.PackClaim(carol.addr, 0)))
	if got := new(big.Int).Sub(e.balance(common.Address{}, carol.addr), before); got.Cmp(oneEth) != 0 {
		t.Fatalf("carol received %v, want 1 ETH", got)
	}
	ctWantPending(t, e, carol, 0)
}

// ---------------------------------------------------------------- helpers

// ctState is the contract's batch state, compared before and after a refusal.
type ctState struct {
	lastBatch, lastTimestamp, totalProcessed, totalRequests uint64
	root, nextRoot                                          fr.Element
}

func ctSnap(t *testing.T, e *env) ctState {
	t.Helper()
	var s ctState
	var err error
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.lastBatch, err = e.c.LastBatch(e.ctx)
	must(err)
	s.lastTimestamp, err = view(e.ctx, e.c, ABI.PackLastTimestamp(), ABI.UnpackLastTimestamp)
	must(err)
	s.totalProcessed, err = e.c.TotalProcessed(e.ctx)
	must(err)
	s.totalRequests, err = e.c.TotalRequests(e.ctx)
	must(err)
	s.root, err = e.c.StateRoot(e.ctx)
	must(err)
	s.nextRoot, err = e.c.BatchRoot(e.ctx, s.lastBatch+1)
	must(err)
	return s
}

// ctRefuse checks that data, sent by from, reverts with the custom error
// `want`, then mines it anyway (fixed gas, no estimate): it must revert on
// chain and leave the batch state as it was.
func ctRefuse(t *testing.T, e *env, name string, from *actor, data []byte, want string) {
	t.Helper()
	before := ctSnap(t, e)
	_, err := e.call(from, nil, data)
	if err == nil {
		t.Fatalf("%s: accepted, want %s", name, want)
	}
	ce, ok := err.(*ContractError)
	if !ok || ce.Name != want {
		t.Fatalf("%s: got %v, want %s", name, err, want)
	}
	if r := ctMine(t, e, from, data); r.Status != ethtypes.ReceiptStatusFailed || r.GasUsed >= ctGas {
		t.Fatalf("%s: mined with status %d using %d gas, want a revert (not out of gas)", name, r.Status, r.GasUsed)
	}
	if after := ctSnap(t, e); after != before {
		t.Fatalf("%s: state changed by a refused batch: %+v -> %+v", name, before, after)
	}
	t.Logf("%s: %s", name, ce.Name)
}

// ctGas is the gas limit of ctMine, well above what commitBatch needs.
const ctGas = 5_000_000

// ctMine sends data to the bridge with a fixed gas limit and mines it.
func ctMine(t *testing.T, e *env, from *actor, data []byte) *ethtypes.Receipt {
	t.Helper()
	nonce, err := e.l1.PendingNonceAt(e.ctx, from.addr)
	if err != nil {
		t.Fatal(err)
	}
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := ethtypes.SignNewTx(from.key, ethtypes.LatestSignerForChainID(e.chainID), &ethtypes.DynamicFeeTx{
		ChainID: e.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: ctGas, To: &e.c.Address, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l1.SendTransaction(e.ctx, tx); err != nil {
		t.Fatal(err)
	}
	e.sim.Commit()
	r, err := e.l1.TransactionReceipt(e.ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ctWantState(t *testing.T, e *env, lastBatch uint64, root fr.Element, processed uint64) {
	t.Helper()
	s := ctSnap(t, e)
	if s.lastBatch != lastBatch || s.root != root || s.totalProcessed != processed {
		t.Fatalf("contract at batch %d root %s processed %d, want %d %s %d",
			s.lastBatch, s.root.String(), s.totalProcessed, lastBatch, root.String(), processed)
	}
	if br, err := e.c.BatchRoot(e.ctx, lastBatch); err != nil || br != root {
		t.Fatalf("batchRoot(%d) = %s (%v), want %s", lastBatch, br.String(), err, root.String())
	}
}

func ctWantPending(t *testing.T, e *env, a *actor, wei int64) {
	t.Helper()
	got, err := e.c.Pending(e.ctx, a.addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cmp(big.NewInt(wei)) != 0 {
		t.Fatalf("pending[%s][ETH] = %v, want %d", a.name, got, wei)
	}
}

// ctAs is a copy of deposit d under priority id.
func ctAs(d *types.Deposit, id uint64) *types.Deposit {
	c := *d
	c.PriorityID, c.Refused = id, false
	return &c
}

// ctSeal seals txs natively as the next batch; they must all apply.
func ctSeal(t *testing.T, e *env, txs ...types.Tx) *state.SealedBatch {
	t.Helper()
	sb, err := e.seal(txs...)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// ctOpenDB opens a second, empty native state with the environment's
// parameters and domain.
func ctOpenDB(t *testing.T, e *env) *state.DB {
	t.Helper()
	db, err := state.Open(e.p, e.d, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctSealOn(t *testing.T, db *state.DB, ts uint64, txs ...types.Tx) *state.SealedBatch {
	t.Helper()
	b, err := db.NewBatch(ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range txs {
		if _, err := b.Add(tx); err != nil {
			b.Discard()
			t.Fatal(err)
		}
	}
	sb, err := b.Seal()
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// ctProofBytes is the 256-byte Solidity encoding of a proof (A, B, C).
func ctProofBytes(t *testing.T, p *prover.Proof) []byte {
	t.Helper()
	args, err := prover.SolidityCalldata(p)
	if err != nil {
		t.Fatal(err)
	}
	return args.Proof
}

// ctNegateA replaces A = (x, y) by -A = (x, q - y): still a curve point.
func ctNegateA(p []byte) {
	y := new(big.Int).SetBytes(p[32:64])
	y.Sub(fp.Modulus(), y)
	y.FillBytes(p[32:64])
}
