package bridge

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
)

// The submitter tests commit real batches (a deposit → a Priority batch, with
// a real proof) on the simulated chain, which mines only on e.sim.Commit().

// subBatch makes a deposit and seals and proves the Priority batch that
// consumes the first queued requests.
func subBatch(t *testing.T, e *env) (*state.SealedBatch, *prover.Proof) {
	t.Helper()
	e.depositETH(e.users[0], big.NewInt(1e18))
	reqs := e.requests(e.applied)
	reqs = reqs[:min(len(reqs), e.p.BatchCapacity)]
	sb, err := e.seal(reqs...)
	if err != nil {
		t.Fatal(err)
	}
	e.applied += uint64(len(reqs))
	return sb, e.prove(sb)
}

// subOneCommit checks that the operator sent exactly one transaction since
// nonce n0 and that the only commitBatch mined since block b0 is want.
func subOneCommit(t *testing.T, e *env, n0, b0 uint64, want common.Hash) {
	t.Helper()
	if n := subNonce(t, e); n != n0+1 {
		t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
	}
	if txs := subCommits(t, e, b0); len(txs) != 1 || txs[0].Hash() != want {
		t.Fatalf("operator commits %d since block %d, want only %s", len(txs), b0, want)
	}
}

// subStuckFirst is a submitter whose first transaction's fee cap is half the
// base fee (it stays in the pool unmined); later fees are ample.
func subStuckFirst(t *testing.T, e *env) *Submitter {
	t.Helper()
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	return subNew(t, e, NewMemStore(), func(c *SubmitterConfig) {
		c.FeeCap = func(ctx context.Context) (*big.Int, *big.Int, error) {
			calls++
			if calls == 1 {
				return big.NewInt(2_000_000), new(big.Int).Div(head.BaseFee, big.NewInt(2)), nil
			}
			return big.NewInt(1e9), big.NewInt(100e9), nil
		}
	})
}

func subNew(t *testing.T, e *env, st Store, mut func(*SubmitterConfig)) *Submitter {
	t.Helper()
	cfg := SubmitterConfig{
		Key:       e.op.key,
		ChainID:   e.chainID,
		MaxFeeCap: big.NewInt(1000e9),
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := NewSubmitter(e.l1, e.c, cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func subNonce(t *testing.T, e *env) uint64 {
	t.Helper()
	n, err := e.l1.NonceAt(e.ctx, e.op.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func subHead(t *testing.T, e *env) uint64 {
	t.Helper()
	n, err := e.l1.BlockNumber(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// subCommits lists the operator's mined transactions to the bridge in blocks
// (from, head].
func subCommits(t *testing.T, e *env, from uint64) []*ethtypes.Transaction {
	t.Helper()
	var out []*ethtypes.Transaction
	signer := ethtypes.LatestSignerForChainID(e.chainID)
	for n := from + 1; n <= subHead(t, e); n++ {
		b, err := e.l1.BlockByNumber(e.ctx, new(big.Int).SetUint64(n))
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Transactions() {
			sender, err := ethtypes.Sender(signer, tx)
			if err != nil {
				t.Fatal(err)
			}
			if sender == e.op.addr && tx.To() != nil && *tx.To() == e.c.Address {
				out = append(out, tx)
			}
		}
	}
	return out
}

func subStep(t *testing.T, s *Submitter, sb *state.SealedBatch, proof *prover.Proof, want State) Status {
	t.Helper()
	st, err := s.Step(context.Background(), &sb.Header, sb.Pubdata, proof)
	if err != nil {
		t.Fatalf("step batch %d: %v", sb.Header.Number, err)
	}
	if st.State != want {
		t.Fatalf("step batch %d: %v, want %v", sb.Header.Number, st.State, want)
	}
	return st
}

func subLanded(t *testing.T, e *env, sb *state.SealedBatch, st Status, tx common.Hash) {
	t.Helper()
	if st.Receipt == nil || st.Receipt.TxHash != tx || st.Receipt.Status != ethtypes.ReceiptStatusSuccessful {
		t.Fatalf("landed without the receipt of %s: %+v", tx, st.Receipt)
	}
	last, err := e.c.LastBatch(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.c.BatchRoot(e.ctx, sb.Header.Number)
	if err != nil {
		t.Fatal(err)
	}
	if last != sb.Header.Number || !root.Equal(&sb.Header.NewRoot) {
		t.Fatalf("L1 at batch %d root %s, want %d %s", last, root.String(), sb.Header.Number, sb.Header.NewRoot.String())
	}
}

func subSkipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
}

func TestSubmitterHappy(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	s := subNew(t, e, NewMemStore(), nil)
	n0, b0 := subNonce(t, e), subHead(t, e)

	sent := subStep(t, s, sb, proof, Sent)
	if sent.Nonce != n0 {
		t.Fatalf("sent with nonce %d, want %d", sent.Nonce, n0)
	}
	// Not mined yet, not stuck: nothing new.
	if st := subStep(t, s, sb, proof, Pending); st.Tx != sent.Tx {
		t.Fatalf("pending %s, sent %s", st.Tx, sent.Tx)
	}
	e.sim.Commit()
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
	e.sim.Commit()
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
	if n := subNonce(t, e); n != n0+1 {
		t.Fatalf("operator sent %d transactions, want 1", n-n0)
	}
	if txs := subCommits(t, e, b0); len(txs) != 1 || txs[0].Hash() != sent.Tx {
		t.Fatalf("operator commits %d, want 1", len(txs))
	}
}

func TestSubmitterLandedByAnotherHand(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	e.must(e.call(e.op, nil, e.commitData(sb, proof)))
	s := subNew(t, e, NewMemStore(), nil)
	n0 := subNonce(t, e)
	for i := 0; i < 2; i++ {
		st := subStep(t, s, sb, proof, Landed)
		if st.Receipt != nil {
			t.Fatalf("a receipt for a commit the submitter never sent: %+v", st.Receipt)
		}
	}
	e.sim.Commit()
	subStep(t, s, sb, proof, Landed)
	if n := subNonce(t, e); n != n0 {
		t.Fatalf("operator sent %d transactions, want none", n-n0)
	}
	if pn, _ := e.l1.PendingNonceAt(e.ctx, e.op.addr); pn != n0 {
		t.Fatalf("operator has %d transactions pending, want none", pn-n0)
	}

	// The chain's batch 1 with another root is foreign.
	other := sb.Header
	other.NewRoot.SetUint64(12345)
	if _, err := s.Step(e.ctx, &other, sb.Pubdata, proof); !errors.Is(err, ErrForeignBatch) {
		t.Fatalf("another root: %v, want ErrForeignBatch", err)
	}
}

func TestSubmitterRestart(t *testing.T) {
	subSkipShort(t)
	for _, kind := range []string{"mem", "badger"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sb, proof := subBatch(t, e)
			var st Store
			dir := filepath.Join(t.TempDir(), "submitter")
			reopen := func() {}
			switch kind {
			case "mem":
				st = NewMemStore()
			case "badger":
				bs, err := OpenBadgerStore(dir)
				if err != nil {
					t.Fatal(err)
				}
				st = bs
				reopen = func() {
					if err := bs.Close(); err != nil {
						t.Fatal(err)
					}
					if bs, err = OpenBadgerStore(dir); err != nil {
						t.Fatal(err)
					}
					st = bs
				}
				t.Cleanup(func() { bs.Close() })
			}
			n0, b0 := subNonce(t, e), subHead(t, e)
			sent := subStep(t, subNew(t, e, st, nil), sb, proof, Sent)
			// Crash after sending, before any receipt: the submitter is gone.
			reopen()
			s := subNew(t, e, st, nil)
			e.sim.Commit()
			subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
			e.sim.Commit()
			subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
			if n := subNonce(t, e); n != n0+1 {
				t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
			}
			txs := subCommits(t, e, b0)
			if len(txs) != 1 {
				t.Fatalf("operator commits %d, want 1", len(txs))
			}
			r, err := e.l1.TransactionReceipt(e.ctx, txs[0].Hash())
			if err != nil || r.Status != ethtypes.ReceiptStatusSuccessful {
				t.Fatalf("commit receipt %+v, %v", r, err)
			}
		})
	}
}

// A restart before the node heard the transaction: the persisted raw
// transaction itself is sent again (same hash).
func TestSubmitterCrashBeforeSend(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	st := NewMemStore()
	n0, b0 := subNonce(t, e), subHead(t, e)

	s := subNew(t, e, st, nil)
	crash := errors.New("crash before send")
	var signed common.Hash
	s.beforeSend = func(tx *ethtypes.Transaction) error { signed = tx.Hash(); return crash }
	if _, err := s.Step(e.ctx, &sb.Header, sb.Pubdata, proof); !errors.Is(err, crash) {
		t.Fatalf("step: %v, want the crash", err)
	}
	if _, _, err := e.l1.TransactionByHash(e.ctx, signed); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("the node knows the unsent tx: %v", err)
	}

	s = subNew(t, e, st, nil)
	if p := subStep(t, s, sb, proof, Pending); p.Tx != signed {
		t.Fatalf("re-broadcast %s, persisted %s", p.Tx, signed)
	}
	if _, pending, err := e.l1.TransactionByHash(e.ctx, signed); err != nil || !pending {
		t.Fatalf("persisted tx not re-broadcast: pending %v, %v", pending, err)
	}
	subStep(t, s, sb, proof, Pending) // already known: nothing new
	e.sim.Commit()
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), signed)
	subOneCommit(t, e, n0, b0, signed)
}

func TestSubmitterStuckBump(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	lowCap := new(big.Int).Div(head.BaseFee, big.NewInt(2))
	lowTip := big.NewInt(2_000_000) // above the pool's minimum tip (0.001 gwei)
	s := subNew(t, e, NewMemStore(), func(c *SubmitterConfig) {
		c.StuckBlocks = 3
		c.FeeCap = func(ctx context.Context) (*big.Int, *big.Int, error) {
			calls++
			if calls == 1 { // too low: below the base fee
				return lowTip, lowCap, nil
			}
			h, err := e.l1.HeaderByNumber(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			tip := big.NewInt(1e9)
			return tip, new(big.Int).Add(new(big.Int).Mul(h.BaseFee, big.NewInt(2)), tip), nil
		}
	})
	n0, b0 := subNonce(t, e), subHead(t, e)
	sent := subStep(t, s, sb, proof, Sent)
	for i := uint64(1); i < 3; i++ {
		e.sim.Commit()
		if st := subStep(t, s, sb, proof, Pending); st.Tx != sent.Tx {
			t.Fatalf("pending %s, sent %s", st.Tx, sent.Tx)
		}
	}
	e.sim.Commit() // the third block without it
	if _, pending, err := e.l1.TransactionByHash(e.ctx, sent.Tx); err != nil || !pending {
		t.Fatalf("underpriced tx: pending %v, %v", pending, err)
	}
	if n := subNonce(t, e); n != n0 {
		t.Fatalf("an underpriced tx was mined")
	}
	rep := subStep(t, s, sb, proof, Replaced)
	if rep.Tx == sent.Tx || rep.Nonce != sent.Nonce {
		t.Fatalf("replacement %s nonce %d, sent %s nonce %d", rep.Tx, rep.Nonce, sent.Tx, sent.Nonce)
	}
	old, _, err := e.l1.TransactionByHash(e.ctx, sent.Tx)
	if err == nil {
		t.Fatalf("the replaced tx is still in the pool: %s", old.Hash())
	}
	tx, pending, err := e.l1.TransactionByHash(e.ctx, rep.Tx)
	if err != nil || !pending {
		t.Fatalf("replacement not pending: %v", err)
	}
	if tx.Nonce() != sent.Nonce || tx.GasTipCap().Cmp(bump(lowTip, 25)) < 0 || tx.GasFeeCap().Cmp(bump(lowCap, 25)) < 0 {
		t.Fatalf("replacement nonce %d tip %v cap %v; first tip %v cap %v", tx.Nonce(), tx.GasTipCap(), tx.GasFeeCap(), lowTip, lowCap)
	}
	t.Logf("base fee %v; sent tip %v cap %v; replaced tip %v cap %v", head.BaseFee, lowTip, lowCap, tx.GasTipCap(), tx.GasFeeCap())
	subStep(t, s, sb, proof, Pending)
	e.sim.Commit()
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), rep.Tx)
	for i := 0; i < 3; i++ {
		e.sim.Commit()
	}
	subStep(t, s, sb, proof, Landed)
	if _, err := e.l1.TransactionReceipt(e.ctx, sent.Tx); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("the replaced tx has a receipt: %v", err)
	}
	subOneCommit(t, e, n0, b0, rep.Tx)
}

// A fee cap that a replacement would exceed leaves the stuck tx as it is.
func TestSubmitterMaxFeeCap(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	low := new(big.Int).Div(head.BaseFee, big.NewInt(2))
	s := subNew(t, e, NewMemStore(), func(c *SubmitterConfig) {
		c.MaxFeeCap = low
		c.FeeCap = func(context.Context) (*big.Int, *big.Int, error) { return big.NewInt(2_000_000), low, nil }
	})
	sent := subStep(t, s, sb, proof, Sent)
	for i := 0; i < 3; i++ {
		e.sim.Commit()
	}
	st, err := s.Step(e.ctx, &sb.Header, sb.Pubdata, proof)
	if !errors.Is(err, ErrFeeCapReached) || st.State != Pending || st.Tx != sent.Tx {
		t.Fatalf("step: %v %+v, want Pending with ErrFeeCapReached", st.State, err)
	}
	if _, pending, err := e.l1.TransactionByHash(e.ctx, sent.Tx); err != nil || !pending {
		t.Fatalf("stuck tx gone: %v", err)
	}
}

func TestSubmitterNotNextAndRejected(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	s := subNew(t, e, NewMemStore(), nil)
	n0 := subNonce(t, e)

	// Batch 2 before batch 1 landed: nothing sent.
	next := sb.Header
	next.Number++
	if _, err := s.Step(e.ctx, &next, sb.Pubdata, proof); !errors.Is(err, ErrNotNext) {
		t.Fatalf("batch 2 first: %v, want ErrNotNext", err)
	}

	// A wrong proof: the verifier refuses it in the simulation, nothing sent.
	bad := *proof.Groth16.(*groth16bn254.Proof)
	bad.Ar.Neg(&bad.Ar)
	wrong := &prover.Proof{Groth16: &bad, Public: proof.Public}
	_, err := s.Step(e.ctx, &sb.Header, sb.Pubdata, wrong)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("wrong proof: %v, want ErrRejected", err)
	}
	wantRevert(t, err, "ProofInvalid")
	if pn, _ := e.l1.PendingNonceAt(e.ctx, e.op.addr); pn != n0 {
		t.Fatalf("a rejected commit was sent")
	}
	if _, err := s.st.Get(s.key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a rejected commit was persisted: %v", err)
	}

	// Batch 1 in flight, batch 2 still not next.
	sent := subStep(t, s, sb, proof, Sent)
	if _, err := s.Step(e.ctx, &next, sb.Pubdata, proof); !errors.Is(err, ErrNotNext) {
		t.Fatalf("batch 2 while 1 is pending: %v, want ErrNotNext", err)
	}
	e.sim.Commit()
	subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), sent.Tx)
	if n := subNonce(t, e); n != n0+1 {
		t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
	}
}

// A sent commit that reverts when mined (the governor replaced the operator
// in the same block, before it): ErrRejected with the contract's error, and
// the next Step sends nothing.
func TestSubmitterRevertedOnChain(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	s := subNew(t, e, NewMemStore(), func(c *SubmitterConfig) {
		c.FeeCap = func(context.Context) (*big.Int, *big.Int, error) {
			return big.NewInt(2_000_000), big.NewInt(100e9), nil // a tip below the governor's
		}
	})
	n0 := subNonce(t, e)
	sent := subStep(t, s, sb, proof, Sent)
	r := e.must(e.call(e.gov, nil, ABI.PackSetOperator(e.users[1].addr))) // mines both
	mine, err := e.l1.TransactionReceipt(e.ctx, sent.Tx)
	if err != nil {
		t.Fatal(err)
	}
	if mine.BlockNumber.Cmp(r.BlockNumber) != 0 || mine.TransactionIndex <= r.TransactionIndex || mine.Status != ethtypes.ReceiptStatusFailed {
		t.Fatalf("commit in block %v at %d status %d; setOperator at %d", mine.BlockNumber, mine.TransactionIndex, mine.Status, r.TransactionIndex)
	}
	_, err = s.Step(e.ctx, &sb.Header, sb.Pubdata, proof)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("mined revert: %v, want ErrRejected", err)
	}
	wantRevert(t, err, "NotOperator")
	_, err = s.Step(e.ctx, &sb.Header, sb.Pubdata, proof)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("after the revert: %v, want ErrRejected", err)
	}
	wantRevert(t, err, "NotOperator")
	if pn, _ := e.l1.PendingNonceAt(e.ctx, e.op.addr); pn != n0+1 {
		t.Fatalf("operator sent %d transactions, want 1", pn-n0)
	}
}

// With BumpPercent 10 (geth's minimum) and fees that stay low, each stuck
// round replaces the commit with exactly 10% more, until the base fee (which
// falls over empty blocks) meets it; one commit is mined.
func TestSubmitterBumpChain(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	head, err := e.l1.HeaderByNumber(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	lowTip, lowCap := big.NewInt(2_000_000), new(big.Int).Div(head.BaseFee, big.NewInt(4))
	s := subNew(t, e, NewMemStore(), func(c *SubmitterConfig) {
		c.BumpPercent = 10
		c.FeeCap = func(context.Context) (*big.Int, *big.Int, error) { return lowTip, lowCap, nil }
	})
	n0, b0 := subNonce(t, e), subHead(t, e)
	prev := subStep(t, s, sb, proof, Sent)
	replaced := 0
	for i := 0; i < 40; i++ {
		e.sim.Commit()
		st, err := s.Step(e.ctx, &sb.Header, sb.Pubdata, proof)
		if err != nil {
			t.Fatal(err)
		}
		switch st.State {
		case Landed:
			subLanded(t, e, sb, st, prev.Tx)
			if replaced < 2 {
				t.Fatalf("landed after %d replacements", replaced)
			}
			if txs := subCommits(t, e, b0); len(txs) != 1 || txs[0].Hash() != prev.Tx {
				t.Fatalf("operator commits %d, want 1", len(txs))
			}
			if n := subNonce(t, e); n != n0+1 {
				t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
			}
			t.Logf("landed after %d replacements, %d blocks", replaced, i+1)
			return
		case Replaced:
			replaced++
			old, _, _ := e.l1.TransactionByHash(e.ctx, prev.Tx)
			tx, pending, err := e.l1.TransactionByHash(e.ctx, st.Tx)
			if err != nil || !pending || old != nil {
				t.Fatalf("replacement not in the pool (%v) or the old one still is", err)
			}
			if tx.Nonce() != n0 {
				t.Fatalf("replacement nonce %d, want %d", tx.Nonce(), n0)
			}
			prev = st
		case Pending:
		default:
			t.Fatalf("state %v", st.State)
		}
	}
	t.Fatal("never landed")
}

// subSignOp signs a transaction of the operator with the given nonce and fees.
func subSignOp(t *testing.T, e *env, nonce uint64, to common.Address, data []byte, gas uint64, tip, feeCap *big.Int) *ethtypes.Transaction {
	t.Helper()
	tx, err := ethtypes.SignNewTx(e.op.key, ethtypes.LatestSignerForChainID(e.chainID), &ethtypes.DynamicFeeTx{
		ChainID: e.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Another hand takes the nonce of a pending commit: with its own commit of
// the batch (Landed, nothing more is sent for it), or with an unrelated
// transaction (the commit can never be mined: a new one is sent).
func TestSubmitterNonceTakenByAnotherHand(t *testing.T) {
	subSkipShort(t)
	for _, kind := range []string{"commit", "transfer"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sb, proof := subBatch(t, e)
			s := subStuckFirst(t, e)
			n0, b0 := subNonce(t, e), subHead(t, e)
			sent := subStep(t, s, sb, proof, Sent)
			tip, feeCap := big.NewInt(1e9), big.NewInt(100e9)
			var other *ethtypes.Transaction
			if kind == "commit" {
				other = subSignOp(t, e, n0, e.c.Address, e.commitData(sb, e.prove(sb)), 3_000_000, tip, feeCap)
			} else {
				other = subSignOp(t, e, n0, e.op.addr, nil, 21_000, tip, feeCap)
			}
			if err := e.l1.SendTransaction(e.ctx, other); err != nil {
				t.Fatal(err)
			}
			e.sim.Commit()
			if r, err := e.l1.TransactionReceipt(e.ctx, other.Hash()); err != nil || r.Status != ethtypes.ReceiptStatusSuccessful {
				t.Fatalf("other hand's tx: %+v %v", r, err)
			}
			if kind == "commit" {
				st := subStep(t, s, sb, proof, Landed)
				if st.Receipt != nil {
					t.Fatalf("a receipt for a commit the submitter did not land: %s", st.Receipt.TxHash)
				}
				e.sim.Commit()
				subStep(t, s, sb, proof, Landed)
				if n := subNonce(t, e); n != n0+1 {
					t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
				}
				// The next batch takes the next nonce.
				sb2, proof2 := subBatch(t, e)
				st = subStep(t, s, sb2, proof2, Sent)
				if st.Nonce != n0+1 {
					t.Fatalf("batch 2 nonce %d, want %d", st.Nonce, n0+1)
				}
				e.sim.Commit()
				subLanded(t, e, sb2, subStep(t, s, sb2, proof2, Landed), st.Tx)
				return
			}
			again := subStep(t, s, sb, proof, Sent)
			if again.Nonce != n0+1 || again.Tx == sent.Tx {
				t.Fatalf("resent with nonce %d, want %d", again.Nonce, n0+1)
			}
			e.sim.Commit()
			subLanded(t, e, sb, subStep(t, s, sb, proof, Landed), again.Tx)
			if txs := subCommits(t, e, b0); len(txs) != 1 || txs[0].Hash() != again.Tx {
				t.Fatalf("operator commits %d, want 1", len(txs))
			}
		})
	}
}

// Batch n rebuilt (another root) while its first commit is pending: the new
// commit replaces the old one at the same nonce; the old root is then foreign.
func TestSubmitterRebuiltBatch(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	e.depositETH(e.users[0], big.NewInt(1e18))
	reqs := e.requests(0)
	if len(reqs) < 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	sb, err := e.seal(reqs[:2]...)
	if err != nil {
		t.Fatal(err)
	}
	proof := e.prove(sb)
	s := subStuckFirst(t, e)
	n0, b0 := subNonce(t, e), subHead(t, e)
	sent := subStep(t, s, sb, proof, Sent)

	e.rollback(0)
	sb2, err := e.seal(reqs[:1]...)
	if err != nil {
		t.Fatal(err)
	}
	if sb2.Header.Number != sb.Header.Number || sb2.Header.NewRoot.Equal(&sb.Header.NewRoot) {
		t.Fatal("the rebuilt batch is not another batch with the same number")
	}
	proof2 := e.prove(sb2)
	rep := subStep(t, s, sb2, proof2, Replaced)
	if rep.Nonce != sent.Nonce {
		t.Fatalf("replacement nonce %d, want %d", rep.Nonce, sent.Nonce)
	}
	e.sim.Commit()
	subLanded(t, e, sb2, subStep(t, s, sb2, proof2, Landed), rep.Tx)
	if _, err := s.Step(e.ctx, &sb.Header, sb.Pubdata, proof); !errors.Is(err, ErrForeignBatch) {
		t.Fatalf("the old version: %v, want ErrForeignBatch", err)
	}
	subOneCommit(t, e, n0, b0, rep.Tx)
}

// Submit on a chain that mines by itself.
func TestSubmitterSubmit(t *testing.T) {
	subSkipShort(t)
	e := newEnv(t, envOpts{})
	sb, proof := subBatch(t, e)
	s := subNew(t, e, NewMemStore(), nil)
	n0 := subNonce(t, e)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			e.sim.Commit()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	r, err := s.Submit(ctx, &sb.Header, sb.Pubdata, proof, 10*time.Millisecond)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if r == nil || r.Status != ethtypes.ReceiptStatusSuccessful {
		t.Fatalf("receipt %+v", r)
	}
	if n := subNonce(t, e); n != n0+1 {
		t.Fatalf("operator nonce advanced by %d, want 1", n-n0)
	}
}
