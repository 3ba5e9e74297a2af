package gas

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Report is what `modex bench gas --json` prints: L1 gas measured on
// go-ethereum's in-process EVM.
type Report struct {
	EVM        string      `json:"evm"`
	Verifier   string      `json:"verifier"`
	VerifyGas  uint64      `json:"verifyGas"` // a verifyProof transaction alone
	Operations []Operation `json:"operations"`
	Batches    []Batch     `json:"batches"`
}

// Operation is the gas of one user-facing transaction.
type Operation struct {
	Name string `json:"name"`
	Gas  uint64 `json:"gas"`
	Note string `json:"note,omitempty"`
}

// Batch is the gas of one full commitBatch of a kind at a capacity.
type Batch struct {
	Family        string `json:"family"`
	Kind          string `json:"kind"`
	Capacity      int    `json:"capacity"`
	Txs           int    `json:"txs"`
	Gas           uint64 `json:"gas"`
	GasPerTx      uint64 `json:"gasPerTx"`
	CalldataBytes int    `json:"calldataBytes"`
}

// piCircuit stands in for a batch circuit in the gas benchmark: one public
// input, like every batch circuit, so its exported verifier costs the same
// gas (Groth16 verification depends on the number of public inputs, not on
// the circuit); proving it takes milliseconds instead of a production setup.
type piCircuit struct {
	PI frontend.Variable `gnark:",public"`
	Sq frontend.Variable
}

func (c *piCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.PI, c.PI), c.Sq)
	return nil
}

// OsakaRules is a simulated-backend option that runs today's mainnet rules:
// go-ethereum's dev chain without the forks after Osaka.
func OsakaRules(_ *node.Config, ec *ethconfig.Config) {
	cfg := *ec.Genesis.Config
	cfg.BogotaTime, cfg.AmsterdamTime = nil, nil
	ec.Genesis.Config = &cfg
}

// gasBench is one simulated chain with funded accounts.
type gasBench struct {
	ctx     context.Context
	sim     *simulated.Backend
	l1      simulated.Client
	chainID *big.Int
	keys    []*ecdsa.PrivateKey
	addrs   []common.Address
	keysPI  *prover.Keys
	vcode   []byte
	rng     *rand.Rand
}

// Run measures the bridge's L1 gas: a full commitBatch of each
// transaction kind at each capacity, and the user operations (deposits,
// claims, a forced-withdrawal request, exodus, an exit at production depths,
// a refund). Batches carry real pubdata: deposits and forced withdrawals are
// real L1 requests; L2 operations are encoded with random field values of
// their full widths. The proof is a real Groth16 proof checked by a
// gnark-exported verifier of the same shape (see piCircuit).
//
// fork "osaka" runs today's mainnet rules (Prague + Osaka); "dev" runs
// go-ethereum's dev chain, which also enables the next fork (Bogota: EIP-8037
// prices new state at 1,530 gas per byte, ~98k per new storage slot).
func Run(ctx context.Context, capacities []int, seed uint64, fork string) (*Report, error) {
	g, err := newGasBench(ctx, seed, fork)
	if err != nil {
		return nil, err
	}
	defer g.sim.Close()
	rep := &Report{
		EVM:      "go-ethereum v1.17.10 simulated backend (ethclient/simulated), " + fork + " rules, solc 0.8.37, optimizer 200 runs",
		Verifier: "gnark v0.16 exported Groth16 verifier, 1 public input",
	}
	vaddr, err := g.deploy(0, g.vcode)
	if err != nil {
		return nil, err
	}
	// the verifier alone, on a real proof
	proof, err := g.provePI(big.NewInt(12345))
	if err != nil {
		return nil, err
	}
	if rep.VerifyGas, err = g.verifyGas(vaddr, proof); err != nil {
		return nil, err
	}

	for _, c := range capacities {
		bs, err := g.batches(c, vaddr)
		if err != nil {
			return nil, err
		}
		rep.Batches = append(rep.Batches, bs...)
	}
	ops, err := g.operations(vaddr)
	if err != nil {
		return nil, err
	}
	rep.Operations = ops
	return rep, nil
}

// newGasBench starts a simulated chain under fork's rules with 80 funded
// accounts and sets up the stand-in circuit and its verifier's bytecode. The
// caller closes g.sim.
func newGasBench(ctx context.Context, seed uint64, fork string) (*gasBench, error) {
	g := &gasBench{ctx: ctx, rng: rand.New(rand.NewPCG(seed, 1))}
	alloc := ethtypes.GenesisAlloc{}
	for i := 0; i < 80; i++ {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		g.keys = append(g.keys, k)
		a := crypto.PubkeyToAddress(k.PublicKey)
		g.addrs = append(g.addrs, a)
		alloc[a] = ethtypes.Account{Balance: new(big.Int).Lsh(big.NewInt(1), 100)}
	}
	opts := []func(*node.Config, *ethconfig.Config){simulated.WithBlockGasLimit(60_000_000)}
	switch fork {
	case "osaka":
		opts = append(opts, OsakaRules)
	case "dev":
	default:
		return nil, fmt.Errorf("bench gas: fork %q (osaka or dev)", fork)
	}
	ccs, err := prover.Compile(&piCircuit{}, "gasbench-pi-1", "")
	if err != nil {
		return nil, err
	}
	if g.keysPI, err = prover.DevSetup(ccs); err != nil {
		return nil, err
	}
	if g.vcode, err = bridge.VerifierDeployCode(g.keysPI.VK); err != nil {
		return nil, err
	}
	g.sim = simulated.NewBackend(alloc, opts...)
	g.l1 = g.sim.Client()
	id, err := g.l1.ChainID(ctx)
	if err != nil {
		g.sim.Close()
		return nil, err
	}
	g.chainID = id
	return g, nil
}

// verifyGas is the gas of a verifyProof transaction to the verifier at
// vaddr on proof.
func (g *gasBench) verifyGas(vaddr common.Address, proof *prover.Proof) (uint64, error) {
	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		return 0, err
	}
	data, err := args.Pack()
	if err != nil {
		return 0, err
	}
	r, err := g.send(0, &vaddr, nil, data)
	if err != nil {
		return 0, fmt.Errorf("bench gas: verifyProof: %w", err)
	}
	return r.GasUsed, nil
}

func (g *gasBench) deploy(from int, code []byte) (common.Address, error) {
	r, err := g.send(from, nil, nil, code)
	if err != nil {
		return common.Address{}, err
	}
	return r.ContractAddress, nil
}

// send mines one transaction from account `from`.
func (g *gasBench) send(from int, to *common.Address, value *big.Int, data []byte) (*ethtypes.Receipt, error) {
	addr := g.addrs[from]
	nonce, err := g.l1.PendingNonceAt(g.ctx, addr)
	if err != nil {
		return nil, err
	}
	gas, err := g.l1.EstimateGas(g.ctx, ethereum.CallMsg{From: addr, To: to, Value: value, Data: data})
	if err != nil {
		return nil, bridge.Revert(err)
	}
	head, err := g.l1.HeaderByNumber(g.ctx, nil)
	if err != nil {
		return nil, err
	}
	tip := big.NewInt(1e9)
	if value == nil {
		value = new(big.Int)
	}
	tx, err := ethtypes.SignNewTx(g.keys[from], ethtypes.LatestSignerForChainID(g.chainID), &ethtypes.DynamicFeeTx{
		ChainID: g.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas: gas + gas/4, To: to, Value: value, Data: data,
	})
	if err != nil {
		return nil, err
	}
	if err := g.l1.SendTransaction(g.ctx, tx); err != nil {
		return nil, err
	}
	g.sim.Commit()
	r, err := g.l1.TransactionReceipt(g.ctx, tx.Hash())
	if err != nil {
		return nil, err
	}
	if r.Status != ethtypes.ReceiptStatusSuccessful {
		return r, fmt.Errorf("%w: %s", bridge.ErrReverted, tx.Hash())
	}
	return r, nil
}

func (g *gasBench) provePI(pi *big.Int) (*prover.Proof, error) {
	sq := new(big.Int).Mul(pi, pi)
	sq.Mod(sq, fr.Modulus())
	return prover.NewCPU(g.keysPI).Prove(g.ctx, &piCircuit{PI: pi, Sq: sq})
}

// bridgeAt deploys a bridge with the stand-in verifier for every family.
func (g *gasBench) bridgeAt(p types.Params, genesis fr.Element, vaddr common.Address, deadline uint64) (*bridge.Contract, error) {
	vs := map[types.Family]common.Address{}
	for _, f := range types.AllFamilies() {
		vs[f] = vaddr
	}
	var opk types.PubKey
	opk.X.SetUint64(1)
	opk.Y.SetUint64(2)
	addr, tx, err := bridge.DeployTx(bind.NewKeyedTransactor(g.keys[0], g.chainID), g.l1, bridge.DeployConfig{
		Params: p, Operator: g.addrs[0], Governor: g.addrs[0], OperatorKey: opk,
		PriorityDeadline: deadline, GenesisRoot: genesis, Verifiers: vs,
	})
	if err != nil {
		return nil, err
	}
	g.sim.Commit()
	if _, err := bridge.WaitSuccess(g.ctx, g.l1, tx); err != nil {
		return nil, err
	}
	return bridge.NewContract(g.l1, addr), nil
}

// commit submits pubdata of family f as the bridge's next batch with newRoot
// and a stand-in proof of the public input the contract computes.
func (g *gasBench) commit(c *bridge.Contract, f types.Family, pubdata []byte, newRoot fr.Element, count uint32) (*ethtypes.Receipt, int, error) {
	last, err := c.LastBatch(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	prev, err := c.StateRoot(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	first, err := c.TotalProcessed(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	head, err := g.l1.HeaderByNumber(g.ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	com, err := types.PubdataCommitment(f, pubdata)
	if err != nil {
		return nil, 0, err
	}
	h := &state.Header{Number: last + 1, Timestamp: head.Time, Family: f, PrevRoot: prev, NewRoot: newRoot,
		FirstPriority: first, PriorityCount: count, PubdataCommitment: com}
	d, err := c.Domain(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	pi := h.PublicInput(d)
	proof, err := g.provePI(pi.BigInt(new(big.Int)))
	if err != nil {
		return nil, 0, err
	}
	data, err := bridge.CommitData(h, pubdata, proof)
	if err != nil {
		return nil, 0, err
	}
	r, err := g.send(0, &c.Address, nil, data)
	return r, len(data), err
}

// slotted pads each op's pubdata to the family's slot and the batch to capacity.
func slotted(f types.Family, capacity int, ops []types.Tx) ([]byte, error) {
	sb := f.SlotBytes()
	out := make([]byte, capacity*sb)
	for i, op := range ops {
		b, err := types.Pubdata(op)
		if err != nil {
			return nil, err
		}
		copy(out[i*sb:], b)
	}
	return out, nil
}

func (g *gasBench) randElem() fr.Element {
	var e fr.Element
	e.SetRandom()
	return e
}

func (g *gasBench) amount(f types.FloatFormat, bits uint) uint256.Int {
	v := new(uint256.Int).SetUint64(g.rng.Uint64() >> (64 - bits))
	if v.IsZero() {
		v.SetOne()
	}
	return *f.RoundDown(v)
}

func (g *gasBench) u96() uint256.Int {
	var v uint256.Int
	v.SetUint64(g.rng.Uint64() >> 8)
	return v
}

func (g *gasBench) addr() common.Address {
	var a common.Address
	for i := range a {
		a[i] = byte(g.rng.Uint32())
	}
	return a
}

// l2Op is an operation of kind k with random values of its fields' widths.
func (g *gasBench) l2Op(k types.Kind, share bool) types.Tx {
	acct := func() uint32 { return g.rng.Uint32() >> 8 }
	model := func() uint16 { return uint16(g.rng.Uint32()) }
	fee := func() uint256.Int { return g.amount(types.Fee16, 40) }
	switch k {
	case types.KindTransfer:
		asset := types.BaseAsset(uint16(g.rng.IntN(4)))
		if share {
			asset = types.ShareAsset(model())
		}
		return &types.Transfer{From: acct(), To: acct(), Asset: asset, Amount: g.amount(types.Amount38, 60), Fee: fee()}
	case types.KindWithdraw:
		amt := uint256.NewInt(g.rng.Uint64() >> 20) // small: the bench pays them out
		return &types.Withdraw{Account: acct(), Token: 0, Amount: *amt, Fee: fee(), To: g.addr()}
	case types.KindCreateModel:
		return &types.CreateModel{Account: acct(), Model: model(), QuoteToken: uint16(g.rng.IntN(4)), HolderBps: uint16(g.rng.IntN(10001)),
			Supply: g.rng.Uint64() >> 1, MaxSupply: g.rng.Uint64(), CreditPrice: g.u96(), Fee: fee(), Weights: g.randElem(), Metadata: g.randElem()}
	case types.KindMintShares:
		return &types.MintShares{Account: acct(), Model: model(), Amount: g.rng.Uint64() >> 8, Fee: fee()}
	case types.KindSetModelParams:
		return &types.SetModelParams{Account: acct(), Model: model(), HolderBps: uint16(g.rng.IntN(10001)), CreditPrice: g.u96(), Fee: fee()}
	case types.KindTrade:
		m := model()
		fill := g.amount(types.Amount38, 40)
		t := &types.Trade{Fill: fill.Uint64(), Price: g.amount(types.Amount38, 50),
			BuyFeeBips: uint8(g.rng.IntN(50)), SellFeeBips: uint8(g.rng.IntN(50))}
		t.Buy = types.Order{Account: acct(), Model: m, Side: types.Buy, OrderID: g.rng.Uint32() >> 8}
		t.Sell = types.Order{Account: acct(), Model: m, Side: types.Sell, OrderID: g.rng.Uint32() >> 8}
		return t
	case types.KindCancelOrder:
		return &types.CancelOrder{Account: acct(), Model: model(), OrderID: g.rng.Uint32() >> 8, Fee: fee()}
	case types.KindBuyCredits:
		return &types.BuyCredits{Account: acct(), Model: model(), Credits: g.rng.Uint64() >> 24, Fee: fee()}
	case types.KindRedeemCredits:
		return &types.RedeemCredits{Account: acct(), Model: model(), Credits: g.rng.Uint64() >> 24, Fee: fee(), Request: g.randElem()}
	case types.KindClaimRevenue:
		return &types.ClaimRevenue{Account: acct(), Model: model(), Fee: fee()}
	}
	return nil
}

// batches measures a full batch of every kind at one capacity, on a bridge
// of that capacity.
func (g *gasBench) batches(capacity int, vaddr common.Address) ([]Batch, error) {
	p := types.DefaultParams()
	p.BatchCapacity = capacity
	var genesis fr.Element
	c, err := g.bridgeAt(p, genesis, vaddr, 1000)
	if err != nil {
		return nil, err
	}
	var out []Batch
	record := func(f types.Family, k string, r *ethtypes.Receipt, n int) {
		out = append(out, Batch{Family: f.String(), Kind: k, Capacity: capacity, Txs: capacity, Gas: r.GasUsed,
			GasPerTx: r.GasUsed / uint64(capacity), CalldataBytes: n})
	}
	// Priority: real deposits (request 0, the operator's, goes first), then
	// forced withdrawals.
	for round := 0; round < 2; round++ {
		for i := 0; i < capacity-1+round; i++ {
			from := 1 + i%(len(g.keys)-1)
			var x, y fr.Element
			x.SetUint64(g.rng.Uint64())
			y.SetUint64(g.rng.Uint64())
			if _, err := g.send(from, &c.Address, big.NewInt(1e18), bridge.ABI.PackDepositETH(elemBig(x), elemBig(y))); err != nil {
				return nil, fmt.Errorf("bench gas: deposit: %w", err)
			}
		}
		r, n, err := g.priorityBatch(c, p)
		if err != nil {
			return nil, err
		}
		if round == 1 {
			record(types.FamilyPriority, "Deposit", r, n)
		}
	}
	for i := 0; i < capacity; i++ {
		from := 1 + i%(len(g.keys)-1)
		if _, err := g.send(from, &c.Address, nil, bridge.ABI.PackRequestForcedWithdraw(uint32(i+1), 0)); err != nil {
			return nil, fmt.Errorf("bench gas: forced withdrawal request: %w", err)
		}
	}
	r, n, err := g.priorityBatch(c, p)
	if err != nil {
		return nil, err
	}
	record(types.FamilyPriority, "ForcedWithdraw", r, n)

	kinds := []struct {
		k     types.Kind
		share bool
		name  string
	}{
		{types.KindTransfer, false, "Transfer"}, {types.KindTransfer, true, "Transfer(shares)"}, {types.KindWithdraw, false, "Withdraw"},
		{types.KindCreateModel, false, "CreateModel"}, {types.KindMintShares, false, "MintShares"}, {types.KindSetModelParams, false, "SetModelParams"},
		{types.KindTrade, false, "Trade"}, {types.KindCancelOrder, false, "CancelOrder"}, {types.KindBuyCredits, false, "BuyCredits"},
		{types.KindRedeemCredits, false, "RedeemCredits"}, {types.KindClaimRevenue, false, "ClaimRevenue"},
	}
	for _, k := range kinds {
		ops := make([]types.Tx, capacity)
		for i := range ops {
			ops[i] = g.l2Op(k.k, k.share)
		}
		f := types.FamilyOf(ops[0])
		pub, err := slotted(f, capacity, ops)
		if err != nil {
			return nil, fmt.Errorf("bench gas: %s pubdata: %w", k.name, err)
		}
		r, n, err := g.commit(c, f, pub, g.randElem(), 0)
		if err != nil {
			return nil, fmt.Errorf("bench gas: %s batch: %w", k.name, err)
		}
		record(f, k.name, r, n)
	}
	return out, nil
}

// priorityBatch commits every queued request (up to capacity) as one batch:
// deposits as queued, forced withdrawals paying a random amount.
func (g *gasBench) priorityBatch(c *bridge.Contract, p types.Params) (*ethtypes.Receipt, int, error) {
	first, err := c.TotalProcessed(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	reqs, err := requestsFrom(g.ctx, g.l1, c, first, p.BatchCapacity)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range reqs {
		if fw, ok := r.(*types.ForcedWithdraw); ok {
			fw.Amount.SetUint64(g.rng.Uint64() >> 16)
		}
	}
	pub, err := slotted(types.FamilyPriority, p.BatchCapacity, reqs)
	if err != nil {
		return nil, 0, err
	}
	return g.commit(c, types.FamilyPriority, pub, g.randElem(), uint32(len(reqs)))
}

// requestsFrom reads up to max queued requests from id first on.
func requestsFrom(ctx context.Context, l1 bridge.L1, c *bridge.Contract, first uint64, max int) ([]types.Tx, error) {
	logs, err := l1.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{c.Address}, Topics: [][]common.Hash{{bridge.EventID("PriorityRequest")}}})
	if err != nil {
		return nil, err
	}
	var out []types.Tx
	for i := range logs {
		ev, err := bridge.ABI.UnpackPriorityRequestEvent(&logs[i])
		if err != nil {
			return nil, err
		}
		if ev.Id < first || len(out) == max {
			continue
		}
		tx, err := bridge.DecodeRequest(ev.Id, ev.Request)
		if err != nil {
			return nil, err
		}
		out = append(out, tx)
	}
	return out, nil
}

// operations measures user transactions on a bridge at production depths
// whose verified state is a real native state, so that the exit is a real
// Merkle proof at depths 24/16.
func (g *gasBench) operations(vaddr common.Address) ([]Operation, error) {
	p := types.DefaultParams()
	p.BatchCapacity = 4
	db0, err := state.Open(p, types.Domain{}, store.Options{InMemory: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	genesis, err := db0.Root(0)
	db0.Close()
	if err != nil {
		return nil, err
	}
	c, err := g.bridgeAt(p, genesis, vaddr, 2)
	if err != nil {
		return nil, err
	}
	d, err := c.Domain(g.ctx)
	if err != nil {
		return nil, err
	}
	db, err := state.Open(p, d, store.Options{InMemory: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var ops []Operation
	add := func(name, note string, r *ethtypes.Receipt) {
		ops = append(ops, Operation{Name: name, Gas: r.GasUsed, Note: note})
	}

	// a token, and users with keys that can sign
	tok, err := g.deploy(0, append(common.FromHex(bindings.TestTokenMetaData.Bin), bindings.NewTestToken().PackConstructor("USD")...))
	if err != nil {
		return nil, err
	}
	if _, err := g.send(0, &c.Address, nil, bridge.ABI.PackRegisterToken(tok)); err != nil {
		return nil, err
	}
	tt := bindings.NewTestToken()
	pk := func(i int) types.PubKey {
		k, err := workload.Key(5000 + i)
		if err != nil {
			panic(err)
		}
		return types.PublicKeyOf(k)
	}
	user := 1
	r, err := g.send(user, &c.Address, big.NewInt(3e18), bridge.ABI.PackDepositETH(elemBig(pk(1).X), elemBig(pk(1).Y)))
	if err != nil {
		return nil, err
	}
	add("depositETH", "first deposit of a new (L1 address, L2 key) pair: assigns an account id", r)
	if r, err = g.send(user, &c.Address, big.NewInt(1e18), bridge.ABI.PackDepositETH(elemBig(pk(1).X), elemBig(pk(1).Y))); err != nil {
		return nil, err
	}
	add("depositETH (existing account)", "", r)
	if _, err := g.send(user, &tok, nil, tt.PackMint(g.addrs[user], big.NewInt(1e6))); err != nil {
		return nil, err
	}
	if _, err := g.send(user, &tok, nil, tt.PackApprove(c.Address, big.NewInt(1e6))); err != nil {
		return nil, err
	}
	if r, err = g.send(user, &c.Address, nil, bridge.ABI.PackDepositERC20(tok, big.NewInt(5e5), elemBig(pk(1).X), elemBig(pk(1).Y))); err != nil {
		return nil, err
	}
	add("depositERC20", "balance measured before and after (fee-on-transfer safe)", r)

	// prove the requests natively and commit them with the real new root
	reqs, err := requestsFrom(g.ctx, g.l1, c, 0, p.BatchCapacity)
	if err != nil {
		return nil, err
	}
	head, err := g.l1.HeaderByNumber(g.ctx, nil)
	if err != nil {
		return nil, err
	}
	b, err := db.NewBatch(head.Time)
	if err != nil {
		return nil, err
	}
	for _, tx := range reqs {
		if _, err := b.Add(tx); err != nil {
			return nil, err
		}
	}
	sb, err := b.Seal()
	if err != nil {
		return nil, err
	}
	if _, _, err := g.commit(c, types.FamilyPriority, sb.Pubdata, sb.Header.NewRoot, sb.Header.PriorityCount); err != nil {
		return nil, err
	}
	// a withdrawal batch that leaves the root as it is (the stand-in verifier
	// does not check state), to measure claims
	w1 := &types.Withdraw{Account: 1, Token: 0, Amount: *uint256.NewInt(1e17), To: g.addrs[2]}
	w2 := &types.Withdraw{Account: 1, Token: 1, Amount: *uint256.NewInt(1000), To: g.addrs[2]}
	pub, err := slotted(types.FamilyWithdraw, p.BatchCapacity, []types.Tx{w1, w2})
	if err != nil {
		return nil, err
	}
	if _, _, err := g.commit(c, types.FamilyWithdraw, pub, sb.Header.NewRoot, 0); err != nil {
		return nil, err
	}
	if r, err = g.send(3, &c.Address, nil, bridge.ABI.PackClaim(g.addrs[2], 0)); err != nil {
		return nil, err
	}
	add("claim ETH", "whole pending balance, sent by a third party", r)
	if r, err = g.send(2, &c.Address, nil, bridge.ABI.PackWithdraw(1, big.NewInt(1000), g.addrs[2])); err != nil {
		return nil, err
	}
	add("withdraw ERC-20", "the owner pulls its pending balance", r)

	// exodus: a forced withdrawal nobody processes, a deposit never processed
	if r, err = g.send(user, &c.Address, nil, bridge.ABI.PackRequestForcedWithdraw(1, 0)); err != nil {
		return nil, err
	}
	add("requestForcedWithdraw", "", r)
	if _, err = g.send(4, &c.Address, big.NewInt(1e18), bridge.ABI.PackDepositETH(elemBig(pk(4).X), elemBig(pk(4).Y))); err != nil {
		return nil, err
	}
	g.sim.Commit()
	if r, err = g.send(5, &c.Address, nil, bridge.ABI.PackActivateExodus()); err != nil {
		return nil, err
	}
	add("activateExodus", "", r)
	ep, err := bridge.ExitProof(db, 1, 0)
	if err != nil {
		return nil, err
	}
	if r, err = g.send(5, &c.Address, nil, bridge.ABI.PackExit(bridge.ExitArg(ep))); err != nil {
		return nil, fmt.Errorf("bench gas: exit: %w", err)
	}
	add("exit", fmt.Sprintf("on-chain Merkle proof at depths %d/%d (%d width-4 Poseidon2 compressions: 4-ary paths and the account leaf; 1 width-2 for the state root)",
		p.AccountDepth, p.BalanceDepth, smt.Levels(p.AccountDepth)+smt.Levels(p.BalanceDepth)+2), r)
	reqs, err = requestsFrom(g.ctx, g.l1, c, uint64(sb.Header.PriorityCount), 10)
	if err != nil {
		return nil, err
	}
	for i, tx := range reqs {
		if _, ok := tx.(*types.Deposit); !ok {
			continue
		}
		req, err := bridge.EncodeRequest(tx)
		if err != nil {
			return nil, err
		}
		if r, err = g.send(5, &c.Address, nil, bridge.ABI.PackRefundDeposit(uint64(sb.Header.PriorityCount)+uint64(i), req)); err != nil {
			return nil, fmt.Errorf("bench gas: refund: %w", err)
		}
		add("refundDeposit", "", r)
	}
	return ops, nil
}

func elemBig(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }
