package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// ErrOutOfOrder: a staged deploy was asked for a verifier that is not the
// next one its plan holds (another family, one already deployed, or one
// not planned). Nothing is sent.
var ErrOutOfOrder = errors.New("deploy: verifier out of the staged plan's order")

// StagedConfig configures a staged deploy (the devnet's first start): the
// bridge first, with every family's verifier address predicted, then each
// family's verifier as its keys arrive.
type StagedConfig struct {
	// Config is the deploy's configuration; its Keys must be empty (each
	// family's keys come with DeployVerifier).
	Config
	// Families in the order DeployVerifier will deploy their verifiers.
	Families []types.Family
}

// Staged is a staged deploy: the bridge is deployed, the verifiers follow
// one at a time in plan order. Contract addresses are CREATE(deployer,
// nonce): the bridge takes the deployer's next nonce n and family i of the
// plan the nonce n+1+i, so the bridge is built with the verifiers'
// addresses before they hold code. Until a family's verifier is deployed
// the bridge cannot verify that family's batches (its call to an address
// without code reverts); a node proves a family only once its keys, hence
// its verifier, exist.
//
// The deployer must send nothing else while the plan runs (a devnet funds
// a deployer of its own for it).
type Staged struct {
	d *deployer_

	mu   sync.Mutex
	next int // index into rec.Families of the next verifier
}

// StartStaged plans a staged deploy from the deployer's next nonce and
// deploys the bridge (waiting for it to be mined and confirmed). The
// record stays in memory (Record); it is complete once every verifier is.
func StartStaged(ctx context.Context, l1 bridge.L1, cfg StagedConfig) (*Staged, error) {
	c := cfg.Config
	if len(c.Keys) != 0 {
		return nil, fmt.Errorf("%w: a staged deploy takes each family's keys with DeployVerifier, not in Config.Keys", ErrKeys)
	}
	if len(cfg.Families) == 0 {
		return nil, fmt.Errorf("%w: no families", ErrKeys)
	}
	all := types.AllFamilies()
	for i, f := range cfg.Families {
		if !slices.Contains(all, f) {
			return nil, fmt.Errorf("%w: %v is not a batch family", ErrKeys, f)
		}
		if slices.Contains(cfg.Families[:i], f) {
			return nil, fmt.Errorf("%w: %v planned twice", ErrKeys, f)
		}
	}
	if err := c.checkBase(); err != nil {
		return nil, err
	}
	id, err := l1.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("deploy: chain id: %w", err)
	}
	from := crypto.PubkeyToAddress(c.Deployer.PublicKey)
	start, err := l1.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("deploy: deployer nonce: %w", err)
	}
	root := state.EmptyRoot(c.Params)
	rec := &Record{
		Version: RecordVersion, ChainID: id.Uint64(), Deployer: from, StartNonce: start,
		Bridge: Contract{Address: crypto.CreateAddress(from, start)},
		Params: paramsRecord(c.ParamsName, c.Params), Operator: c.Operator, Governor: c.Governor,
		FeeAccount:  pubKeyString(c.FeeAccount),
		Priority:    PriorityRecord{Deadline: c.PriorityDeadline, Fee: c.PriorityFee.String()},
		MaxBatchLag: c.MaxBatchLag,
		GenesisRoot: elemHex(root),
		Txs:         []TxRecord{{What: "bridge", Nonce: start}},
	}
	verifiers := map[types.Family]common.Address{}
	for i, f := range cfg.Families {
		n := start + 1 + uint64(i)
		a := crypto.CreateAddress(from, n)
		verifiers[f] = a
		rec.Families = append(rec.Families, FamilyRecord{Family: f.String(), Verifier: Contract{Address: a}})
		rec.Txs = append(rec.Txs, TxRecord{What: "verifier " + f.String(), Nonce: n})
	}
	s := &Staged{d: &deployer_{l1: l1, cfg: &c, rec: rec, chainID: id, from: from}}
	code, err := bridge.DeployCode(s.d.bridgeConfig(root, verifiers))
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	r, err := s.d.deployAt(ctx, 0, item{what: "bridge", code: code})
	if err != nil {
		return nil, err
	}
	rec.DeployBlock = r.BlockNumber.Uint64()
	c.Progress(fmt.Sprintf("deployed the bridge at %s (block %d) in %s; %d verifiers follow as their keys arrive", rec.Bridge.Address, rec.DeployBlock, time.Since(t0).Round(time.Millisecond), len(cfg.Families)))
	return s, nil
}

// deployAt sends planned transaction i (nonce StartNonce+i), waits until it
// is mined and confirmed, checks the code at its address and records the
// code hash.
func (d *deployer_) deployAt(ctx context.Context, i int, it item) (*ethtypes.Receipt, error) {
	nonce := d.rec.StartNonce + uint64(i)
	addr := crypto.CreateAddress(d.from, nonce)
	next, err := d.l1.PendingNonceAt(ctx, d.from)
	if err != nil {
		return nil, fmt.Errorf("deploy: deployer nonce: %w", err)
	}
	if next != nonce {
		return nil, fmt.Errorf("%w: the %s is planned at nonce %d (address %s), the deployer %s is at nonce %d", ErrNonceUsed, it.what, nonce, addr, d.from, next)
	}
	tx, err := d.send(ctx, it, nonce)
	if err != nil {
		return nil, err
	}
	d.rec.Txs[i].Hash = tx.Hash()
	r, err := waitMined(ctx, d.l1, tx.Hash(), d.cfg.Poll)
	if err != nil {
		return nil, fmt.Errorf("deploy: %s: %w", it.what, err)
	}
	if r.Status != ethtypes.ReceiptStatusSuccessful {
		return nil, fmt.Errorf("deploy: %s: %w: %s (gas %d)", it.what, bridge.ErrReverted, tx.Hash(), r.GasUsed)
	}
	if err := waitConfirmations(ctx, d.l1, r.BlockNumber.Uint64(), d.cfg.Confirmations, d.cfg.Poll, d.cfg.Progress); err != nil {
		return nil, err
	}
	code, err := d.l1.CodeAt(ctx, addr, nil)
	if err != nil {
		return nil, fmt.Errorf("deploy: code at %s: %w", addr, err)
	}
	if len(code) == 0 {
		return nil, fmt.Errorf("%w: the %s's transaction %s was mined and %s holds no code", ErrMismatch, it.what, tx.Hash(), addr)
	}
	if err := d.checkCode(ctx, it, addr, code); err != nil {
		return nil, err
	}
	h := crypto.Keccak256Hash(code)
	if it.family == 0 {
		d.rec.Bridge.CodeHash = h
	} else {
		d.rec.Families[i-1].Verifier.CodeHash = h
	}
	return r, nil
}

// Next is the family whose verifier DeployVerifier takes next (0 when
// every planned verifier is deployed).
func (s *Staged) Next() types.Family {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == len(s.d.rec.Families) {
		return 0
	}
	f, _ := types.ParseFamily(s.d.rec.Families[s.next].Family)
	return f
}

// DeployVerifier deploys family f's keyed verifier (bridge.VerifierDeployCode
// of keys' verifying key) at its planned nonce and checks the code there is
// exactly the keyed verifier of keys. f must be the plan's next family
// (ErrOutOfOrder otherwise, and nothing is sent). It returns the verifier's
// address, the one the bridge holds for f.
func (s *Staged) DeployVerifier(ctx context.Context, f types.Family, keys *prover.Keys) (common.Address, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, rec := s.d, s.d.rec
	if s.next == len(rec.Families) || rec.Families[s.next].Family != f.String() {
		want := "none: every planned verifier is deployed"
		if s.next < len(rec.Families) {
			want = rec.Families[s.next].Family
		}
		return common.Address{}, fmt.Errorf("%w: asked for the %v verifier, the next planned is %s", ErrOutOfOrder, f, want)
	}
	if keys == nil {
		return common.Address{}, fmt.Errorf("%w: no %v keys", ErrKeys, f)
	}
	if err := keys.CheckSecure(d.cfg.AllowInsecureKeys); err != nil {
		return common.Address{}, fmt.Errorf("deploy: %v: %w", f, err)
	}
	h, err := keys.VKHash()
	if err != nil {
		return common.Address{}, err
	}
	code, err := bridge.VerifierDeployCode(keys.VK)
	if err != nil {
		return common.Address{}, err
	}
	want, err := bridge.VerifierRuntimeCode(keys.VK)
	if err != nil {
		return common.Address{}, err
	}
	t0 := time.Now()
	i := s.next + 1 // planned transaction i: the bridge is 0
	if _, err := d.deployAt(ctx, i, item{what: "verifier " + f.String(), family: f, code: code, want: want}); err != nil {
		return common.Address{}, err
	}
	fr := &rec.Families[s.next]
	fr.VKHash, fr.Insecure = h, keys.Insecure
	rec.Insecure = rec.Insecure || keys.Insecure
	s.next++
	rec.Complete = s.next == len(rec.Families)
	d.cfg.Progress(fmt.Sprintf("deployed the %v verifier at %s in %s (%d of %d)", f, fr.Verifier.Address, time.Since(t0).Round(time.Millisecond), s.next, len(rec.Families)))
	return fr.Verifier.Address, nil
}

// Record is a copy of the staged deploy's record: the bridge and every
// planned verifier address from the start; a family's key hash and code
// hash once its verifier is deployed; Complete once every one is.
func (s *Staged) Record() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := *s.d.rec
	r.Families = slices.Clone(r.Families)
	r.Txs = slices.Clone(r.Txs)
	return &r
}
