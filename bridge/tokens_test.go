package bridge

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/types"
)

// xtDepositRequest is the single deposit request a receipt queued.
func (e *env) xtDepositRequest(r *ethtypes.Receipt) *types.Deposit {
	e.t.Helper()
	ev := xtOneEvent(e, r, "PriorityRequest", ABI.UnpackPriorityRequestEvent)
	tx, err := DecodeRequest(ev.Id, ev.Request)
	if err != nil {
		e.t.Fatal(err)
	}
	d, ok := tx.(*types.Deposit)
	if !ok {
		e.t.Fatalf("request %d is a %T", ev.Id, tx)
	}
	return d
}

// xtWantTransferFailed checks a TransferFailed(token, to, amount) revert.
func xtWantTransferFailed(t *testing.T, err error, token uint16, to common.Address, amount *big.Int) {
	t.Helper()
	wantRevert(t, err, "TransferFailed")
	v, ok := err.(*ContractError).Value.(*bindings.ModexTransferFailed)
	if !ok || v.Token != token || v.To != to || v.Amount.Cmp(amount) != 0 {
		t.Fatalf("TransferFailed%+v, want token %d to %s amount %v", err.(*ContractError).Value, token, to, amount)
	}
}

// TestNonStandardTokens: the bridge's token handling (PRODUCT security item
// 15). A fee-on-transfer token credits what the bridge received; a token
// without return values deposits and pays out; a token that returns false
// cannot deposit; a receiver that refuses a payment (a reverting contract, a
// blocked ERC-20 holder) keeps its pending balance and withdraws elsewhere.
// Also the registration guards.
func TestNonStandardTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{families: []types.Family{types.FamilyWithdraw}, users: 3})
	bridge := e.c.Address
	u0, u1, u2 := e.users[0], e.users[1], e.users[2]
	tt := bindings.NewTestToken()
	pkX := func(a *actor) *big.Int { return elemBig(a.pk.X) }
	pkY := func(a *actor) *big.Int { return elemBig(a.pk.Y) }

	// Registration guards: only the governor registers; an unregistered
	// token cannot be deposited.
	plain := e.deployCode(e.gov, common.FromHex(bindings.TestTokenMetaData.Bin), tt.PackConstructor("plain"))
	_, err := e.call(u0, nil, ABI.PackRegisterToken(plain))
	wantRevert(t, err, "NotGovernor")
	_, err = e.call(e.op, nil, ABI.PackRegisterToken(plain))
	wantRevert(t, err, "NotGovernor")
	e.must(e.send(u0, &plain, nil, tt.PackMint(u0.addr, big.NewInt(100))))
	e.must(e.send(u0, &plain, nil, tt.PackApprove(bridge, big.NewInt(100))))
	_, err = e.call(u0, nil, ABI.PackDepositERC20(plain, big.NewInt(100), pkX(u0), pkY(u0)))
	wantRevert(t, err, "TokenNotRegistered")

	// Fee on transfer (1%): depositing 10,000 credits 9,900.
	ft := bindings.NewFeeToken()
	feeAddr := e.deployCode(e.gov, common.FromHex(bindings.FeeTokenMetaData.Bin), ft.PackConstructor(big.NewInt(100)))
	feeID := e.registerToken(feeAddr)
	e.must(e.send(u0, &feeAddr, nil, ft.PackMint(u0.addr, big.NewInt(20_000))))
	e.must(e.send(u0, &feeAddr, nil, ft.PackApprove(bridge, big.NewInt(20_000))))
	credited := new(big.Int)
	for i := 0; i < 2; i++ {
		r := e.must(e.call(u0, nil, ABI.PackDepositERC20(feeAddr, big.NewInt(10_000), pkX(u0), pkY(u0))))
		d := e.xtDepositRequest(r)
		if d.Token != feeID || d.L1Address != u0.addr || d.Amount.Uint64() != 9_900 {
			t.Fatalf("fee-token deposit request %+v, want 9,900 of token %d", d, feeID)
		}
		credited.Add(credited, d.Amount.ToBig())
	}
	if b := e.balance(feeAddr, bridge); b.Cmp(credited) != 0 || credited.Int64() != 19_800 {
		t.Fatalf("bridge holds %v of the fee token, credited %v", b, credited)
	}

	// No return value (USDT-style): the deposit goes through.
	nr := bindings.NewNoReturnToken()
	nrAddr := e.deployCode(e.gov, common.FromHex(bindings.NoReturnTokenMetaData.Bin), nil)
	nrID := e.registerToken(nrAddr)
	e.must(e.send(u1, &nrAddr, nil, nr.PackMint(u1.addr, big.NewInt(5_000))))
	e.must(e.send(u1, &nrAddr, nil, nr.PackApprove(bridge, big.NewInt(5_000))))
	r := e.must(e.call(u1, nil, ABI.PackDepositERC20(nrAddr, big.NewInt(5_000), pkX(u1), pkY(u1))))
	if d := e.xtDepositRequest(r); d.Token != nrID || d.Amount.Uint64() != 5_000 {
		t.Fatalf("no-return deposit request %+v", d)
	}
	if b := e.balance(nrAddr, bridge); b.Int64() != 5_000 {
		t.Fatalf("bridge holds %v of the no-return token", b)
	}

	// A transferFrom that returns false (no allowance) fails the deposit.
	fa := bindings.NewFalseToken()
	falseAddr := e.deployCode(e.gov, common.FromHex(bindings.FalseTokenMetaData.Bin), nil)
	falseID := e.registerToken(falseAddr)
	e.must(e.send(u2, &falseAddr, nil, fa.PackMint(u2.addr, big.NewInt(1_000))))
	_, err = e.call(u2, nil, ABI.PackDepositERC20(falseAddr, big.NewInt(1_000), pkX(u2), pkY(u2)))
	xtWantTransferFailed(t, err, falseID, bridge, big.NewInt(1_000))
	if b := e.balance(falseAddr, u2.addr); b.Int64() != 1_000 {
		t.Fatalf("u2 holds %v of the false token", b)
	}

	// ETH and a plain token for the receiver cases.
	tokAddr, tok := e.deployToken("TKN")
	e.depositETH(u0, xtEth(5000))
	e.must(e.send(u1, &tokAddr, nil, tt.PackMint(u1.addr, big.NewInt(1_000))))
	e.must(e.send(u1, &tokAddr, nil, tt.PackApprove(bridge, big.NewInt(1_000))))
	e.must(e.call(u1, nil, ABI.PackDepositERC20(tokAddr, big.NewInt(1_000), pkX(u1), pkY(u1))))
	e.flush()
	for _, c := range []struct {
		who     *actor
		token   uint16
		balance *big.Int
	}{{u0, feeID, big.NewInt(19_800)}, {u1, nrID, big.NewInt(5_000)}, {u0, 0, xtEth(5000)}, {u1, tok, big.NewInt(1_000)}} {
		if b := e.l2Balance(c.who.account, c.token); b.ToBig().Cmp(c.balance) != 0 {
			t.Fatalf("%s's L2 balance of token %d: %v, want %v", c.who.name, c.token, b, c.balance)
		}
	}

	// L2 withdrawals: the fee tokens and the no-return tokens back to their
	// owners, 1 ETH to a contract that refuses ETH, 400 TKN to u1.
	rr := e.deployCode(u2, common.FromHex(bindings.RevertingReceiverMetaData.Bin), nil)
	e.commit(e.withdrawTx(u0, feeID, big.NewInt(19_800), u0.addr), e.withdrawTx(u1, nrID, big.NewInt(5_000), u1.addr))
	e.commit(e.withdrawTx(u0, 0, xtEth(1000), rr), e.withdrawTx(u1, tok, big.NewInt(400), u1.addr))

	// Fee token out: the bridge pays all it holds (the receiver bears the fee).
	e.must(e.call(u2, nil, ABI.PackClaim(u0.addr, feeID)))
	if b := e.balance(feeAddr, bridge); b.Sign() != 0 {
		t.Fatalf("bridge still holds %v of the fee token", b)
	}
	if b := e.balance(feeAddr, u0.addr); b.Int64() != 19_602 {
		t.Fatalf("u0 holds %v of the fee token, want 19,602", b)
	}
	// No-return token out: the claim works.
	e.must(e.call(u2, nil, ABI.PackClaim(u1.addr, nrID)))
	if b := e.balance(nrAddr, u1.addr); b.Int64() != 5_000 {
		t.Fatalf("u1 holds %v of the no-return token", b)
	}
	if b := e.balance(nrAddr, bridge); b.Sign() != 0 {
		t.Fatalf("bridge still holds %v of the no-return token", b)
	}

	// A reverting receiver: claim and withdraw to it fail and leave the
	// pending balance; its owner withdraws to another address.
	rrb := bindings.NewRevertingReceiver()
	one := xtEth(1000)
	if p := e.xtPending(rr, 0); p.Cmp(one) != 0 {
		t.Fatalf("pending of the reverting receiver %v", p)
	}
	_, err = e.call(u2, nil, ABI.PackClaim(rr, 0))
	xtWantTransferFailed(t, err, 0, rr, one)
	_, err = e.send(u2, &rr, nil, rrb.PackExec(bridge, new(big.Int), ABI.PackWithdraw(0, one, rr)))
	xtWantTransferFailed(t, err, 0, rr, one)
	// mined, not only estimated: a reverted claim leaves the pending balance
	if r, err := e.xtSendGas(u2, bridge, nil, ABI.PackClaim(rr, 0), 500_000); r.Status != ethtypes.ReceiptStatusFailed {
		t.Fatalf("claim to the reverting receiver mined with status %d", r.Status)
	} else {
		xtWantTransferFailed(t, err, 0, rr, one)
	}
	if p := e.xtPending(rr, 0); p.Cmp(one) != 0 {
		t.Fatalf("pending after the failed payments %v, want %v", p, one)
	}
	other := common.HexToAddress("0x00000000000000000000000000000000000b0b01")
	bridgeETH := e.balance(common.Address{}, bridge)
	r = e.must(e.send(u2, &rr, nil, rrb.PackExec(bridge, new(big.Int), ABI.PackWithdraw(0, one, other))))
	if ev := xtOneEvent(e, r, "Withdrawn", ABI.UnpackWithdrawnEvent); ev.Owner != rr || ev.To != other || ev.Amount.Cmp(one) != 0 {
		t.Fatalf("Withdrawn%+v", ev)
	}
	if b := e.balance(common.Address{}, other); b.Cmp(one) != 0 {
		t.Fatalf("other received %v, want %v", b, one)
	}
	if d := xtSub(bridgeETH, e.balance(common.Address{}, bridge)); d.Cmp(one) != 0 {
		t.Fatalf("bridge paid %v, want %v", d, one)
	}
	if p := e.xtPending(rr, 0); p.Sign() != 0 {
		t.Fatalf("pending after the withdrawal elsewhere %v", p)
	}

	// A blocked ERC-20 receiver: the same, for a token transfer.
	four := big.NewInt(400)
	e.must(e.send(e.gov, &tokAddr, nil, tt.PackSetBlocked(u1.addr, true)))
	_, err = e.call(u2, nil, ABI.PackClaim(u1.addr, tok))
	xtWantTransferFailed(t, err, tok, u1.addr, four)
	_, err = e.call(u1, nil, ABI.PackWithdraw(tok, four, u1.addr))
	xtWantTransferFailed(t, err, tok, u1.addr, four)
	if p := e.xtPending(u1.addr, tok); p.Cmp(four) != 0 {
		t.Fatalf("pending TKN of the blocked receiver %v", p)
	}
	before := e.balance(tokAddr, u2.addr)
	e.must(e.call(u1, nil, ABI.PackWithdraw(tok, four, u2.addr)))
	if d := xtSub(e.balance(tokAddr, u2.addr), before); d.Cmp(four) != 0 {
		t.Fatalf("u2 received %v TKN, want 400", d)
	}
	if p := e.xtPending(u1.addr, tok); p.Sign() != 0 {
		t.Fatalf("pending TKN after the withdrawal elsewhere %v", p)
	}
	if b := e.balance(tokAddr, bridge); b.Int64() != 600 {
		t.Fatalf("bridge holds %v TKN, want 600", b)
	}
}
