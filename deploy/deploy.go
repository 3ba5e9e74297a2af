// Package deploy deploys a rollup on any L1 (`modex deploy`, the devnet's
// embedded L1): every family's verifier — the keyed verifier, committed
// bytecode with the family's verifying key as constructor argument — and
// the bridge, and writes a deployment record. It is idempotent and
// resumable: the plan (the deployer's first nonce, hence every address) is
// written before anything is sent, and a rerun over the same record checks
// what the chain already holds, sends only what is missing, and never
// deploys a contract twice. Check verifies a record against the chain and
// the local keys (`modex node --deployment`).
package deploy

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// Errors; test with errors.Is.
var (
	// ErrRecord: a deployment record is malformed.
	ErrRecord = errors.New("deploy: bad deployment record")
	// ErrMismatch: a record does not match this deploy's configuration, or
	// the chain or the local keys do not match the record.
	ErrMismatch = errors.New("deploy: mismatch")
	// ErrNonceUsed: a planned transaction's nonce was used by another
	// transaction: the plan cannot be completed.
	ErrNonceUsed = errors.New("deploy: the deployer's planned nonce was used by another transaction")
	// ErrFeeCap: the L1's base fee is above the fee cap.
	ErrFeeCap = errors.New("deploy: L1 base fee above the fee cap")
	// ErrKeys: a family's keys are missing or do not fit the parameters.
	ErrKeys = errors.New("deploy: keys")
)

// DefaultPriorityDeadline is the priority deadline (L1 blocks) by default.
const DefaultPriorityDeadline = 100

// Config configures a deployment.
type Config struct {
	Params     types.Params
	ParamsName string // recorded as given ("test", "prod")
	// Keys holds every family's keys (LoadKeys); the families deployed are
	// its keys, in types.Family order.
	Keys     map[types.Family]*prover.Keys
	Deployer *ecdsa.PrivateKey
	Operator common.Address // commits batches (zero: the deployer)
	Governor common.Address // registers tokens, changes the operator (zero: the deployer)
	// FeeAccount is the L2 public key of account 0, the fee account.
	FeeAccount       types.PubKey
	PriorityDeadline uint64   // L1 blocks (0: DefaultPriorityDeadline)
	PriorityFee      *big.Int // wei per priority request (nil: 0)
	MaxBatchLag      uint64   // seconds (0: bridge.DefaultMaxBatchLag)
	// Confirmations: blocks on top of each deployment's block before the
	// deploy counts it done (0 and 1 both mean: mined).
	Confirmations uint64
	// MaxFeePerGas caps the EIP-1559 fee cap (wei; nil: no cap). A base fee
	// above it fails with ErrFeeCap instead of waiting.
	MaxFeePerGas *big.Int
	// AllowInsecureKeys accepts keys from the INSECURE dev setup
	// (--insecure-dev-keys; devnets only).
	AllowInsecureKeys bool
	// Poll is how often receipts and blocks are polled (0: 1 s).
	Poll     time.Duration
	Progress func(msg string) // nil: none
}

// Deployed is the outcome of Run.
type Deployed struct {
	Record  *Record
	Resumed bool // the record existed: some or all of it was on chain
}

// plan is the ordered list of deployments: the verifiers in family order,
// then the bridge (its constructor takes the verifiers' addresses).
type item struct {
	what   string
	family types.Family // 0: the bridge
	code   []byte       // creation code with constructor arguments
	want   []byte       // expected runtime code (verifiers; nil: the bridge)
}

func (c *Config) families() []types.Family {
	var fams []types.Family
	for f := range c.Keys {
		fams = append(fams, f)
	}
	slices.Sort(fams)
	return fams
}

// newRecord is the record of cfg's plan from nonce start.
func newRecord(cfg *Config, chainID uint64, start uint64) (*Record, error) {
	deployer := crypto.PubkeyToAddress(cfg.Deployer.PublicKey)
	r := &Record{
		Version: RecordVersion, ChainID: chainID, Deployer: deployer, StartNonce: start,
		Params: paramsRecord(cfg.ParamsName, cfg.Params), Operator: cfg.Operator, Governor: cfg.Governor,
		FeeAccount:  pubKeyString(cfg.FeeAccount),
		Priority:    PriorityRecord{Deadline: cfg.PriorityDeadline, Fee: cfg.PriorityFee.String()},
		MaxBatchLag: cfg.MaxBatchLag,
		GenesisRoot: elemHex(state.EmptyRoot(cfg.Params)),
	}
	for i, f := range cfg.families() {
		k := cfg.Keys[f]
		h, err := k.VKHash()
		if err != nil {
			return nil, err
		}
		r.Families = append(r.Families, FamilyRecord{Family: f.String(), VKHash: h,
			Insecure: k.Insecure, Verifier: Contract{Address: crypto.CreateAddress(deployer, start+uint64(i))}})
		r.Insecure = r.Insecure || k.Insecure
		r.Txs = append(r.Txs, TxRecord{What: "verifier " + f.String(), Nonce: start + uint64(i)})
	}
	n := start + uint64(len(r.Families))
	r.Bridge = Contract{Address: crypto.CreateAddress(deployer, n)}
	r.Txs = append(r.Txs, TxRecord{What: "bridge", Nonce: n})
	return r, nil
}

// sameConfig reports what differs between a record and the one cfg would
// write (the nonce, transactions, code hashes and block aside).
func sameConfig(have, want *Record) error {
	var diff []string
	cmp := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			diff = append(diff, fmt.Sprintf("%s: record %v, this deploy %v", name, a, b))
		}
	}
	cmp("chain id", have.ChainID, want.ChainID)
	cmp("deployer", have.Deployer, want.Deployer)
	hp, wp := have.Params, want.Params
	hp.Name, wp.Name = "", ""
	cmp("params", hp, wp)
	cmp("operator", have.Operator, want.Operator)
	cmp("governor", have.Governor, want.Governor)
	cmp("fee account key", have.FeeAccount, want.FeeAccount)
	cmp("priority", have.Priority, want.Priority)
	cmp("max batch lag", have.MaxBatchLag, want.MaxBatchLag)
	cmp("genesis root", have.GenesisRoot, want.GenesisRoot)
	if len(have.Families) != len(want.Families) {
		cmp("families", familyNames(have), familyNames(want))
	} else {
		for i := range have.Families {
			cmp("family", have.Families[i].Family, want.Families[i].Family)
			cmp(have.Families[i].Family+" verifying key hash", have.Families[i].VKHash, want.Families[i].VKHash)
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w: the record differs from this deploy (a record resumes only the deploy it planned; use another --out for a new one):\n  %s", ErrMismatch, strings.Join(diff, "\n  "))
	}
	return nil
}

func familyNames(r *Record) []string {
	var out []string
	for _, f := range r.Families {
		out = append(out, f.Family)
	}
	return out
}

func (c *Config) check() error {
	if len(c.Keys) == 0 {
		return fmt.Errorf("%w: no families", ErrKeys)
	}
	for f, k := range c.Keys {
		if err := k.CheckSecure(c.AllowInsecureKeys); err != nil {
			return fmt.Errorf("deploy: %v: %w", f, err)
		}
	}
	return c.checkBase()
}

// checkBase checks and defaults everything but the keys.
func (c *Config) checkBase() error {
	if c.Deployer == nil {
		return errors.New("deploy: no deployer key")
	}
	if err := c.Params.Check(); err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if err := types.CheckPublicKey(c.FeeAccount); err != nil {
		return fmt.Errorf("deploy: fee account key: %w", err)
	}
	deployer := crypto.PubkeyToAddress(c.Deployer.PublicKey)
	if c.Operator == (common.Address{}) {
		c.Operator = deployer
	}
	if c.Governor == (common.Address{}) {
		c.Governor = deployer
	}
	if c.PriorityDeadline == 0 {
		c.PriorityDeadline = DefaultPriorityDeadline
	}
	if c.PriorityFee == nil {
		c.PriorityFee = new(big.Int)
	}
	if c.MaxBatchLag == 0 {
		c.MaxBatchLag = bridge.DefaultMaxBatchLag
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
	return nil
}

// Run deploys the rollup cfg describes, or completes the deploy recorded at
// recordPath. A complete record is checked against the chain and returned
// unchanged (the deploy is idempotent); an incomplete one must match cfg
// (ErrMismatch) and is resumed: each planned contract already on chain is
// checked and kept, the rest are sent at their planned nonces. recordPath
// "" keeps the record in memory only (the devnet).
func Run(ctx context.Context, l1 bridge.L1, cfg Config, recordPath string) (*Deployed, error) {
	rec, resumed, err := plan(ctx, l1, &cfg, recordPath)
	if err != nil {
		return nil, err
	}
	if rec.Complete {
		cfg.Progress(fmt.Sprintf("%s holds a complete deployment (bridge %s); checking it against the chain", recordPath, rec.Bridge.Address))
		if err := Check(ctx, l1, rec, cfg.Keys); err != nil {
			return nil, err
		}
		return &Deployed{Record: rec, Resumed: true}, nil
	}
	if resumed {
		cfg.Progress(fmt.Sprintf("resuming the deploy planned in %s from nonce %d", recordPath, rec.StartNonce))
	}
	id := new(big.Int).SetUint64(rec.ChainID)
	d := &deployer_{l1: l1, cfg: &cfg, rec: rec, path: recordPath, chainID: id, from: rec.Deployer}
	if err := d.run(ctx); err != nil {
		return nil, err
	}
	return &Deployed{Record: rec, Resumed: resumed}, nil
}

// Plan writes the deploy's plan to recordPath (when no record is there)
// without sending anything, and returns it: every contract's address, from
// the deployer's next nonce. Run carries it out.
func Plan(ctx context.Context, l1 bridge.L1, cfg Config, recordPath string) (*Record, error) {
	rec, _, err := plan(ctx, l1, &cfg, recordPath)
	return rec, err
}

// plan checks cfg and returns the record at recordPath (checked against
// cfg; resumed true) or a new plan, saved there.
func plan(ctx context.Context, l1 bridge.L1, cfg *Config, recordPath string) (rec *Record, resumed bool, err error) {
	if err := cfg.check(); err != nil {
		return nil, false, err
	}
	id, err := l1.ChainID(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("deploy: chain id: %w", err)
	}
	if recordPath != "" {
		have, err := Load(recordPath)
		switch {
		case err == nil:
			want, err := newRecord(cfg, id.Uint64(), have.StartNonce)
			if err != nil {
				return nil, false, err
			}
			if err := sameConfig(have, want); err != nil {
				return nil, false, err
			}
			return have, true, nil
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, false, err
		}
	}
	deployer := crypto.PubkeyToAddress(cfg.Deployer.PublicKey)
	start, err := l1.PendingNonceAt(ctx, deployer)
	if err != nil {
		return nil, false, fmt.Errorf("deploy: deployer nonce: %w", err)
	}
	if rec, err = newRecord(cfg, id.Uint64(), start); err != nil {
		return nil, false, err
	}
	if recordPath != "" {
		if err := os.MkdirAll(filepath.Dir(recordPath), 0o755); err != nil {
			return nil, false, err
		}
		if err := rec.Save(recordPath); err != nil {
			return nil, false, fmt.Errorf("deploy: write the plan: %w", err)
		}
	}
	return rec, false, nil
}

type deployer_ struct {
	l1      bridge.L1
	cfg     *Config
	rec     *Record
	path    string
	chainID *big.Int
	from    common.Address
}

func (d *deployer_) items() ([]item, error) {
	var items []item
	verifiers := map[types.Family]common.Address{}
	for _, fam := range d.rec.Families {
		f, _ := types.ParseFamily(fam.Family)
		k := d.cfg.Keys[f]
		code, err := bridge.VerifierDeployCode(k.VK)
		if err != nil {
			return nil, err
		}
		want, err := bridge.VerifierRuntimeCode(k.VK)
		if err != nil {
			return nil, err
		}
		items = append(items, item{what: "verifier " + f.String(), family: f, code: code, want: want})
		verifiers[f] = fam.Verifier.Address
	}
	var root fr.Element
	if _, err := root.SetString(d.rec.GenesisRoot); err != nil {
		return nil, fmt.Errorf("%w: genesis root: %v", ErrRecord, err)
	}
	code, err := bridge.DeployCode(d.bridgeConfig(root, verifiers))
	if err != nil {
		return nil, err
	}
	items = append(items, item{what: "bridge", code: code})
	return items, nil
}

func (d *deployer_) bridgeConfig(root fr.Element, verifiers map[types.Family]common.Address) bridge.DeployConfig {
	return bridge.DeployConfig{
		Params: d.cfg.Params, Operator: d.cfg.Operator, Governor: d.cfg.Governor, OperatorKey: d.cfg.FeeAccount,
		PriorityDeadline: d.cfg.PriorityDeadline, PriorityFee: d.cfg.PriorityFee, MaxBatchLag: d.cfg.MaxBatchLag,
		GenesisRoot: root, Verifiers: verifiers,
	}
}

func (d *deployer_) run(ctx context.Context) error {
	start := time.Now()
	items, err := d.items()
	if err != nil {
		return err
	}
	type sent struct {
		i  int
		tx *ethtypes.Transaction
	}
	var pending []sent
	for i, it := range items {
		nonce := d.rec.StartNonce + uint64(i)
		addr := crypto.CreateAddress(d.from, nonce)
		code, err := d.l1.CodeAt(ctx, addr, nil)
		if err != nil {
			return fmt.Errorf("deploy: code at %s: %w", addr, err)
		}
		if len(code) > 0 {
			if err := d.checkCode(ctx, it, addr, code); err != nil {
				return err
			}
			d.cfg.Progress(fmt.Sprintf("%s already deployed at %s (nonce %d)", it.what, addr, nonce))
			continue
		}
		used, err := d.l1.NonceAt(ctx, d.from, nil)
		if err != nil {
			return fmt.Errorf("deploy: deployer nonce: %w", err)
		}
		if used > nonce {
			// The nonce is spent and no code is at its address: the
			// transaction failed, or another one took the nonce. A mined
			// deployment that is not yet visible cannot be: CodeAt and
			// NonceAt read the same head, code first.
			r := d.receiptOf(ctx, i)
			if r != nil && r.Status != ethtypes.ReceiptStatusSuccessful {
				return fmt.Errorf("deploy: %s: %w: %s (gas %d); the plan cannot be completed: deploy afresh with another --out", it.what, bridge.ErrReverted, r.TxHash, r.GasUsed)
			}
			return fmt.Errorf("%w: nonce %d of %s (planned for the %s at %s) was used and %s holds no code; deploy afresh with another --out", ErrNonceUsed, nonce, d.from, it.what, addr, addr)
		}
		tx, err := d.send(ctx, it, nonce)
		if err != nil {
			return err
		}
		d.rec.Txs[i].Hash = tx.Hash()
		if err := d.save(); err != nil {
			return err
		}
		d.cfg.Progress(fmt.Sprintf("sent %s (nonce %d, tx %s, address %s)", it.what, nonce, tx.Hash(), addr))
		pending = append(pending, sent{i, tx})
	}
	for _, p := range pending {
		r, err := waitMined(ctx, d.l1, p.tx.Hash(), d.cfg.Poll)
		if err != nil {
			return fmt.Errorf("deploy: %s: %w", items[p.i].what, err)
		}
		if r.Status != ethtypes.ReceiptStatusSuccessful {
			return fmt.Errorf("deploy: %s: %w: %s (gas %d)", items[p.i].what, bridge.ErrReverted, p.tx.Hash(), r.GasUsed)
		}
		d.cfg.Progress(fmt.Sprintf("%s mined in block %d (gas %d)", items[p.i].what, r.BlockNumber, r.GasUsed))
	}
	// The bridge's block, and the confirmations on top of the last one.
	bridgeTx := d.rec.Txs[len(items)-1].Hash
	var last uint64
	for i := range items {
		r := d.receiptOf(ctx, i)
		if r == nil {
			continue // deployed by a transaction this record did not send
		}
		last = max(last, r.BlockNumber.Uint64())
		if i == len(items)-1 {
			d.rec.DeployBlock = r.BlockNumber.Uint64()
		}
	}
	if d.rec.DeployBlock == 0 {
		return fmt.Errorf("%w: no receipt of the bridge's deployment %s", ErrMismatch, bridgeTx)
	}
	if err := waitConfirmations(ctx, d.l1, last, d.cfg.Confirmations, d.cfg.Poll, d.cfg.Progress); err != nil {
		return err
	}
	// Code hashes, read back after the confirmations.
	for i, it := range items {
		nonce := d.rec.StartNonce + uint64(i)
		addr := crypto.CreateAddress(d.from, nonce)
		code, err := d.l1.CodeAt(ctx, addr, nil)
		if err != nil {
			return err
		}
		if err := d.checkCode(ctx, it, addr, code); err != nil {
			return err
		}
		h := crypto.Keccak256Hash(code)
		if it.family == 0 {
			d.rec.Bridge.CodeHash = h
		} else {
			d.rec.Families[i].Verifier.CodeHash = h
		}
	}
	d.rec.Complete = true
	if err := d.save(); err != nil {
		return err
	}
	d.cfg.Progress(fmt.Sprintf("deployed %d verifiers and the bridge at %s (block %d) in %s", len(items)-1, d.rec.Bridge.Address, d.rec.DeployBlock, time.Since(start).Round(time.Millisecond)))
	return Check(ctx, d.l1, d.rec, d.cfg.Keys)
}

func (d *deployer_) save() error {
	if d.path == "" {
		return nil
	}
	return d.rec.Save(d.path)
}

// receiptOf is the receipt of planned transaction i when this record sent
// it (nil otherwise).
func (d *deployer_) receiptOf(ctx context.Context, i int) *ethtypes.Receipt {
	h := d.rec.Txs[i].Hash
	if h == (common.Hash{}) {
		return nil
	}
	r, err := d.l1.TransactionReceipt(ctx, h)
	if err != nil {
		return nil
	}
	return r
}

// checkCode checks code found at a planned address: a verifier must be
// exactly the keyed verifier of its family's key; the bridge is checked by
// Check once the deploy is complete.
func (d *deployer_) checkCode(_ context.Context, it item, addr common.Address, code []byte) error {
	if it.want != nil && !slices.Equal(code, it.want) {
		return fmt.Errorf("%w: %s holds code that is not the %s of this key (%d bytes, want %d)", ErrMismatch, addr, it.what, len(code), len(it.want))
	}
	return nil
}

// send signs and sends one planned deployment with EIP-1559 fees.
func (d *deployer_) send(ctx context.Context, it item, nonce uint64) (*ethtypes.Transaction, error) {
	tip, err := d.l1.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, fmt.Errorf("deploy: gas tip: %w", err)
	}
	head, err := d.l1.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("deploy: head: %w", err)
	}
	if head.BaseFee == nil {
		return nil, fmt.Errorf("deploy: the L1 has no base fee (pre-London): EIP-1559 fees are required")
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	if c := d.cfg.MaxFeePerGas; c != nil {
		if head.BaseFee.Cmp(c) > 0 {
			return nil, fmt.Errorf("%w: base fee %s wei, cap %s wei (--max-fee-gwei)", ErrFeeCap, head.BaseFee, c)
		}
		if feeCap.Cmp(c) > 0 {
			feeCap = new(big.Int).Set(c)
		}
		if tip.Cmp(feeCap) > 0 {
			tip = new(big.Int).Set(feeCap)
		}
	}
	opts := bind.NewKeyedTransactor(d.cfg.Deployer, d.chainID)
	opts.Context, opts.Nonce, opts.GasTipCap, opts.GasFeeCap = ctx, new(big.Int).SetUint64(nonce), tip, feeCap
	_, tx, err := bindDeploy(opts, it.code, d.l1)
	if err != nil && strings.Contains(err.Error(), "already known") {
		// The same transaction is in the pool from an interrupted run.
		return tx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deploy: send %s: %w", it.what, bridge.Revert(err))
	}
	return tx, nil
}

func bindDeploy(opts *bind.TransactOpts, code []byte, l1 bridge.L1) (common.Address, *ethtypes.Transaction, error) {
	return bind.DeployContract(opts, code, l1, nil)
}

// waitMined polls for a transaction's receipt.
func waitMined(ctx context.Context, l1 bridge.L1, h common.Hash, poll time.Duration) (*ethtypes.Receipt, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		r, err := l1.TransactionReceipt(ctx, h)
		if err == nil {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// waitConfirmations waits until block `mined` has n-1 blocks on top.
func waitConfirmations(ctx context.Context, l1 bridge.L1, mined, n uint64, poll time.Duration, progress func(string)) error {
	if n <= 1 {
		return nil
	}
	want := mined + n - 1
	t := time.NewTicker(poll)
	defer t.Stop()
	said := false
	for {
		head, err := l1.BlockNumber(ctx)
		if err == nil && head >= want {
			return nil
		}
		if !said {
			progress(fmt.Sprintf("waiting for %d confirmations (block %d)", n, want))
			said = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// LoadKeys loads every family's keys from dir/<circuits.BatchKey(f, p)>/
// (the layout of the devnet's key cache) and refuses keys that do not fit
// p: each family's circuit is compiled for p and the keys' constraint
// system must have its shape (constraints, public and secret inputs).
func LoadKeys(dir string, p types.Params, fams []types.Family, progress func(string)) (map[types.Family]*prover.Keys, error) {
	if progress == nil {
		progress = func(string) {}
	}
	out := map[types.Family]*prover.Keys{}
	for _, f := range fams {
		key := circuits.BatchKey(f, p)
		kd := filepath.Join(dir, filepath.FromSlash(key))
		t0 := time.Now()
		k, err := prover.LoadKeys(kd)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %v keys in %s (each family's keys live in <keys>/%s for these parameters)", ErrKeys, f, kd, key)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v keys in %s: %w", ErrKeys, f, kd, err)
		}
		shape, err := circuits.NewBatch(f, p)
		if err != nil {
			return nil, err
		}
		ccs, err := prover.Compile(shape, key, "")
		if err != nil {
			return nil, err
		}
		if a, b := k.CCS, ccs; a.GetNbConstraints() != b.GetNbConstraints() || a.GetNbPublicVariables() != b.GetNbPublicVariables() ||
			a.GetNbSecretVariables() != b.GetNbSecretVariables() || a.GetNbInternalVariables() != b.GetNbInternalVariables() {
			return nil, fmt.Errorf("%w: the %v keys in %s are not for these parameters: their circuit has %d constraints, %d public, %d secret inputs; the %v circuit of these parameters has %d, %d, %d",
				ErrKeys, f, kd, a.GetNbConstraints(), a.GetNbPublicVariables(), a.GetNbSecretVariables(), f, b.GetNbConstraints(), b.GetNbPublicVariables(), b.GetNbSecretVariables())
		}
		progress(fmt.Sprintf("loaded %v keys (%d constraints) in %s", f, k.CCS.GetNbConstraints(), time.Since(t0).Round(time.Millisecond)))
		out[f] = k
	}
	return out, nil
}

func pubKeyString(k types.PubKey) string {
	return "0x" + k.X.Text(16) + ":0x" + k.Y.Text(16)
}

// ParsePubKey parses "0x<X>:0x<Y>" (the record's fee account key).
func ParsePubKey(s string) (types.PubKey, error) {
	var k types.PubKey
	x, y, ok := strings.Cut(s, ":")
	if !ok {
		return k, fmt.Errorf("%w: public key %q: want 0x<X>:0x<Y>", ErrRecord, s)
	}
	if _, err := k.X.SetString(x); err != nil {
		return k, fmt.Errorf("%w: public key %q: %v", ErrRecord, s, err)
	}
	if _, err := k.Y.SetString(y); err != nil {
		return k, fmt.Errorf("%w: public key %q: %v", ErrRecord, s, err)
	}
	return k, types.CheckPublicKey(k)
}
