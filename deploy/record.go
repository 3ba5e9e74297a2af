package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/types"
)

// RecordVersion is the deployment record's format version.
const RecordVersion = 1

// Record is a deployment record (deployment.json): what `modex deploy`
// deployed, where, and with which keys. It is written before the first
// transaction is sent (Complete false: the plan, with the deployer's first
// nonce) so that an interrupted deploy resumes from it, and rewritten when
// everything is mined and confirmed (Complete true). `modex node
// --deployment` takes its bridge, first block, parameters and families from
// it and checks the chain against it.
type Record struct {
	Version  int            `json:"version"`
	Complete bool           `json:"complete"`
	ChainID  uint64         `json:"chainId"`
	Deployer common.Address `json:"deployer"`
	// StartNonce is the deployer's nonce of the first planned transaction;
	// planned transaction i uses StartNonce+i, so every contract's address
	// is known before anything is sent.
	StartNonce  uint64          `json:"startNonce"`
	Bridge      Contract        `json:"bridge"`
	DeployBlock uint64          `json:"deployBlock"` // the block holding the bridge's deployment (0 until complete)
	Params      ParamsRecord    `json:"params"`
	Families    []FamilyRecord  `json:"families"`
	Operator    common.Address  `json:"operator"`
	Governor    common.Address  `json:"governor"`
	FeeAccount  string          `json:"feeAccountKey"` // L2 public key of account 0, the fee account: "0x<X>:0x<Y>"
	Priority    PriorityRecord  `json:"priority"`
	MaxBatchLag uint64          `json:"maxBatchLag"` // seconds
	GenesisRoot string          `json:"genesisRoot"` // hex field element
	Insecure    bool            `json:"insecureDevKeys"`
	Txs         []TxRecord      `json:"transactions"`
	Extra       json.RawMessage `json:"extra,omitempty"`
}

// Contract is one deployed contract.
type Contract struct {
	Address  common.Address `json:"address"`
	CodeHash common.Hash    `json:"codeHash"` // keccak256 of its runtime code (zero until complete)
}

// ParamsRecord are the rollup's parameters.
type ParamsRecord struct {
	Name          string `json:"name,omitempty"` // test or prod, as given
	AccountDepth  int    `json:"accountDepth"`
	BalanceDepth  int    `json:"balanceDepth"`
	ModelDepth    int    `json:"modelDepth"`
	OrderDepth    int    `json:"orderDepth"`
	MaxFeeAssets  int    `json:"maxFeeAssets"`
	BatchCapacity int    `json:"batchCapacity"`
}

// Params returns the parameters.
func (p ParamsRecord) Params() types.Params {
	return types.Params{AccountDepth: p.AccountDepth, BalanceDepth: p.BalanceDepth, ModelDepth: p.ModelDepth,
		OrderDepth: p.OrderDepth, MaxFeeAssets: p.MaxFeeAssets, BatchCapacity: p.BatchCapacity}
}

func paramsRecord(name string, p types.Params) ParamsRecord {
	return ParamsRecord{Name: name, AccountDepth: p.AccountDepth, BalanceDepth: p.BalanceDepth, ModelDepth: p.ModelDepth,
		OrderDepth: p.OrderDepth, MaxFeeAssets: p.MaxFeeAssets, BatchCapacity: p.BatchCapacity}
}

// FamilyRecord is one family's verifier.
type FamilyRecord struct {
	Family   string      `json:"family"`
	Verifier Contract    `json:"verifier"`
	VKHash   common.Hash `json:"vkHash"` // prover.VKHash: covers the key and its origin mark
	Insecure bool        `json:"insecureDevKeys"`
}

// PriorityRecord is the priority queue's configuration.
type PriorityRecord struct {
	Deadline uint64 `json:"deadline"` // L1 blocks
	Fee      string `json:"fee"`      // wei per request, decimal
}

// TxRecord is one planned transaction.
type TxRecord struct {
	What  string      `json:"what"` // "verifier Trade", "bridge"
	Nonce uint64      `json:"nonce"`
	Hash  common.Hash `json:"hash,omitempty"` // the last one sent (zero: not sent by this record's deploys)
}

// FamilyList returns the record's families.
func (r *Record) FamilyList() ([]types.Family, error) {
	out := make([]types.Family, 0, len(r.Families))
	for _, f := range r.Families {
		fam, err := types.ParseFamily(f.Family)
		if err != nil {
			return nil, fmt.Errorf("%w: family %q: %v", ErrRecord, f.Family, err)
		}
		out = append(out, fam)
	}
	return out, nil
}

// PriorityFee returns the priority fee in wei.
func (r *Record) PriorityFee() (*big.Int, error) {
	fee, ok := new(big.Int).SetString(r.Priority.Fee, 10)
	if !ok || fee.Sign() < 0 {
		return nil, fmt.Errorf("%w: priority fee %q", ErrRecord, r.Priority.Fee)
	}
	return fee, nil
}

// Load reads a deployment record.
func Load(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRecord, path, err)
	}
	if r.Version != RecordVersion {
		return nil, fmt.Errorf("%w: %s: version %d (this binary reads %d)", ErrRecord, path, r.Version, RecordVersion)
	}
	if len(r.Families) == 0 || r.Bridge.Address == (common.Address{}) {
		return nil, fmt.Errorf("%w: %s: no bridge or no families", ErrRecord, path)
	}
	if _, err := r.FamilyList(); err != nil {
		return nil, err
	}
	if err := r.Params.Params().Check(); err != nil {
		return nil, fmt.Errorf("%w: %s: params: %v", ErrRecord, path, err)
	}
	return &r, nil
}

// Save writes the record atomically (a temporary file renamed over path).
func (r *Record) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
