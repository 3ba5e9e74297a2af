package devchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// DeployConfig configures a rollup deployment.
type DeployConfig struct {
	Params types.Params
	// Families to deploy verifiers for (nil: types.AllFamilies()).
	Families []types.Family
	// KeyDir caches each family's constraint system and dev keys in <KeyDir>/<circuits.BatchKey(f, Params)>/ ("": no cache).
	KeyDir string
	// Operator deploys everything and operates the bridge.
	Operator *ecdsa.PrivateKey
	// Governor governs the bridge (nil: the operator).
	Governor *ecdsa.PrivateKey
	// OperatorL2 is the L2 key of account 0, the fee account.
	OperatorL2 types.PubKey
	// PriorityDeadline in L1 blocks (0: DefaultPriorityDeadline).
	PriorityDeadline uint64
	// PriorityFee in wei per priority request (nil: 0).
	PriorityFee *big.Int
	// Progress receives progress lines with elapsed times (nil: none); it is
	// called from one goroutine at a time.
	Progress func(msg string)
	// Parallel is how many families are compiled and set up at once
	// (0: DefaultParallel; at most GOMAXPROCS).
	Parallel int
}

// DefaultPriorityDeadline is the priority deadline (L1 blocks) when
// DeployConfig.PriorityDeadline is 0.
const DefaultPriorityDeadline = deploy.DefaultPriorityDeadline

// DefaultParallel is the default number of families compiled and set up at
// once. gnark's setup already uses every core: on a 2-core machine, all ten
// families at test parameters took 126 s one at a time and 170 s two at a
// time. Cache loads and solc runs go GOMAXPROCS-wide regardless (solc of one
// family overlaps the next family's setup).
const DefaultParallel = 1

// Rollup is a deployed rollup.
type Rollup struct {
	Contract    *bridge.Contract
	Domain      types.Domain
	Keys        map[types.Family]*prover.Keys
	Verifiers   map[types.Family]common.Address
	Params      types.Params
	DeployBlock uint64 // the block that holds the bridge's deployment
	Record      *deploy.Record
}

// familyArtifacts is one family's keys and verifier bytecode.
type familyArtifacts struct {
	keys *prover.Keys
	code []byte
}

// DeployRollup prepares every family's keys and verifier (from KeyDir when
// cached, else compile + INSECURE dev setup + solc, then cached) and deploys
// the verifiers and the bridge with the empty state's genesis root, from the
// operator's account. It waits until the deployments are mined, so l1 must
// mine: a devchain Chain's miner does, as does any real node.
func DeployRollup(ctx context.Context, l1 bridge.L1, cfg DeployConfig) (*Rollup, error) {
	if cfg.Operator == nil {
		return nil, errors.New("devchain: deploy: no operator key")
	}
	if err := cfg.Params.Check(); err != nil {
		return nil, fmt.Errorf("devchain: deploy: %w", err)
	}
	if cfg.Governor == nil {
		cfg.Governor = cfg.Operator
	}
	if cfg.PriorityDeadline == 0 {
		cfg.PriorityDeadline = DefaultPriorityDeadline
	}
	if cfg.Families == nil {
		cfg.Families = types.AllFamilies()
	}
	var fams []types.Family
	for _, f := range cfg.Families {
		if !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	cfg.Families = fams
	if len(cfg.Families) == 0 {
		return nil, errors.New("devchain: deploy: no families")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()

	arts, err := prepareAll(ctx, cfg, progress)
	if err != nil {
		return nil, err
	}

	keys := map[types.Family]*prover.Keys{}
	for f, a := range arts {
		keys[f] = a.keys
	}
	// The same deploy `modex deploy` runs, with the record in memory.
	d, err := deploy.Run(ctx, l1, deploy.Config{
		Params: cfg.Params, ParamsName: "devnet", Keys: keys, Deployer: cfg.Operator,
		Operator: crypto.PubkeyToAddress(cfg.Operator.PublicKey), Governor: crypto.PubkeyToAddress(cfg.Governor.PublicKey),
		FeeAccount: cfg.OperatorL2, PriorityDeadline: cfg.PriorityDeadline, PriorityFee: cfg.PriorityFee,
		AllowInsecureKeys: true, Poll: 100 * time.Millisecond, Progress: progress,
	}, "")
	if err != nil {
		return nil, fmt.Errorf("devchain: %w", err)
	}
	rec := d.Record
	progress(fmt.Sprintf("deploy total %s", since(start)))
	verifiers := map[types.Family]common.Address{}
	for _, fr := range rec.Families {
		f, err := types.ParseFamily(fr.Family)
		if err != nil {
			return nil, err
		}
		verifiers[f] = fr.Verifier.Address
	}
	return &Rollup{
		Contract:    bridge.NewContract(l1, rec.Bridge.Address),
		Domain:      types.Domain{ChainID: rec.ChainID, Bridge: rec.Bridge.Address},
		Keys:        keys,
		Verifiers:   verifiers,
		Params:      cfg.Params,
		DeployBlock: rec.DeployBlock,
		Record:      rec,
	}, nil
}

// prepareAll prepares every family: up to GOMAXPROCS families at a time
// load their cache or run solc, and cfg.Parallel of them at a time compile
// and run the dev setup (the heavy, multi-core part).
func prepareAll(ctx context.Context, cfg DeployConfig, progress func(string)) (map[types.Family]*familyArtifacts, error) {
	heavy := cfg.Parallel
	if heavy <= 0 {
		heavy = DefaultParallel
	}
	width := max(1, min(runtime.GOMAXPROCS(0), len(cfg.Families)))
	heavy = max(1, min(heavy, width))
	var (
		mu    sync.Mutex
		errs  []error
		arts  = make(map[types.Family]*familyArtifacts, len(cfg.Families))
		wg    sync.WaitGroup
		slots = make(chan struct{}, width)
		p     = &preparer{params: cfg.Params, keyDir: cfg.KeyDir, setup: make(chan struct{}, heavy)}
		pmu   sync.Mutex
	)
	p.progress = func(msg string) { // Progress is called from one goroutine at a time
		pmu.Lock()
		defer pmu.Unlock()
		progress(msg)
	}
	for i, f := range cfg.Families { // deduplicated by DeployRollup
		select { // in order: the first families start first
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			a, err := p.prepare(ctx, f, fmt.Sprintf("%d of %d", i+1, len(cfg.Families)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			arts[f] = a
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return arts, nil
}

// PrepareKeys loads family f's keys from keyDir's cache (<keyDir>/<circuits.BatchKey(f, p)>/),
// or compiles its circuit and runs the INSECURE dev setup and caches them
// ("" keyDir: no cache). nth names the family's place in the caller's plan
// in the progress lines ("3 of 10"). ctx is checked between the steps: the
// compile and the setup themselves run to their end.
func PrepareKeys(ctx context.Context, p types.Params, keyDir string, f types.Family, nth string, progress func(string)) (*prover.Keys, error) {
	if progress == nil {
		progress = func(string) {}
	}
	pr := &preparer{params: p, keyDir: keyDir, setup: make(chan struct{}, 1), progress: progress}
	a, err := pr.prepare(ctx, f, nth)
	if err != nil {
		return nil, err
	}
	return a.keys, nil
}

type preparer struct {
	params   types.Params
	keyDir   string
	setup    chan struct{} // slots for compile + dev setup
	progress func(string)
}

// prepare loads or makes one family's keys and verifier bytecode.
func (pr *preparer) prepare(ctx context.Context, f types.Family, nth string) (*familyArtifacts, error) {
	p, keyDir, progress := pr.params, pr.keyDir, pr.progress
	key := circuits.BatchKey(f, p)
	var dir string
	if keyDir != "" {
		dir = filepath.Join(keyDir, filepath.FromSlash(key))
	}
	t0 := time.Now()
	var keys *prover.Keys
	if dir != "" {
		k, err := prover.LoadKeys(dir)
		switch {
		case err == nil:
			keys = k
			progress(fmt.Sprintf("%v keys cached (%s): loaded in %s", f, nth, since(t0)))
		case errors.Is(err, fs.ErrNotExist):
		default:
			progress(fmt.Sprintf("%v: ignoring cached keys in %s: %v", f, dir, err))
		}
	}
	if keys == nil {
		select {
		case pr.setup <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var err error
		keys, err = pr.setupKeys(ctx, f, key, dir, nth)
		<-pr.setup
		if err != nil {
			return nil, err
		}
	}

	code, err := bridge.VerifierDeployCode(keys.VK)
	if err != nil {
		return nil, fmt.Errorf("devchain: %v verifier: %w", f, err)
	}
	return &familyArtifacts{keys: keys, code: code}, nil
}

// waitSuccess is bridge.WaitSuccess with a faster poll (bind.WaitMined polls
// once a second; the dev chain mines within PollInterval).
func waitSuccess(ctx context.Context, l1 bridge.L1, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		r, err := l1.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			if r.Status != ethtypes.ReceiptStatusSuccessful {
				return r, fmt.Errorf("%w: %s (gas %d)", bridge.ErrReverted, tx.Hash(), r.GasUsed)
			}
			return r, nil
		}
		// ethereum.NotFound: not mined yet; other errors may be transient
		// (bind.WaitMined also polls on): poll again until ctx ends.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func since(t time.Time) string {
	d := time.Since(t)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// setupKeys compiles the family's circuit, runs the dev setup and caches
// the keys in dir (unless "").
func (pr *preparer) setupKeys(ctx context.Context, f types.Family, key, dir, nth string) (*prover.Keys, error) {
	progress := pr.progress
	t0 := time.Now()
	progress(fmt.Sprintf("compiling %v circuit (%s)…", f, nth))
	shape, err := circuits.NewBatch(f, pr.params)
	if err != nil {
		return nil, err
	}
	ccs, err := prover.Compile(shape, key, dir)
	if err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("compiled %v: %d constraints, %s", f, ccs.GetNbConstraints(), since(t0)))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t1 := time.Now()
	progress(fmt.Sprintf("dev setup %v (INSECURE, devnets only)…", f))
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("dev setup %v: %s", f, since(t1)))
	if dir != "" && ctx.Err() == nil {
		t2 := time.Now()
		if err := keys.Save(dir); err != nil {
			return nil, fmt.Errorf("devchain: cache %v keys: %w", f, err)
		}
		progress(fmt.Sprintf("saved %v keys to %s: %s", f, dir, since(t2)))
	}
	return keys, nil
}

// KeysCached reports whether keyDir's cache holds family f's keys for p
// (their proving key is there; PrepareKeys checks the rest when it loads).
func KeysCached(keyDir string, p types.Params, f types.Family) bool {
	if keyDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(keyDir, filepath.FromSlash(circuits.BatchKey(f, p)), prover.PKFile))
	return err == nil
}
