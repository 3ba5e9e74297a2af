package deploy

import (
	"bytes"
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// Check verifies a complete record against the chain and the local keys:
// the chain id; every family's local key hashes to the record's (so keys
// hold the keys that were deployed) and its verifier's code is exactly the
// keyed verifier of that key with the record's code hash; the bridge's code
// has the record's hash, and its verifiers, depths, capacity and governor
// are the record's. Any difference is ErrMismatch, naming it.
func Check(ctx context.Context, l1 bridge.L1, rec *Record, keys map[types.Family]*prover.Keys) error {
	if !rec.Complete {
		return fmt.Errorf("%w: the deployment record is incomplete (an interrupted deploy): run `modex deploy` again with the same --out to finish it", ErrRecord)
	}
	id, err := l1.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("deploy: chain id: %w", err)
	}
	if id.Uint64() != rec.ChainID {
		return fmt.Errorf("%w: the L1's chain id is %d, the deployment's %d", ErrMismatch, id, rec.ChainID)
	}
	fams, err := rec.FamilyList()
	if err != nil {
		return err
	}
	for i, f := range fams {
		fam := rec.Families[i]
		k := keys[f]
		if k == nil {
			return fmt.Errorf("%w: no local %v keys (the deployment has a %v verifier)", ErrMismatch, f, f)
		}
		h, err := k.VKHash()
		if err != nil {
			return err
		}
		if h != fam.VKHash {
			return fmt.Errorf("%w: the local %v verifying key (hash %x) is not the deployed one (%x): --keys must hold the keys that were deployed", ErrMismatch, f, h, fam.VKHash)
		}
		code, err := l1.CodeAt(ctx, fam.Verifier.Address, nil)
		if err != nil {
			return fmt.Errorf("deploy: code at %s: %w", fam.Verifier.Address, err)
		}
		want, err := bridge.VerifierRuntimeCode(k.VK)
		if err != nil {
			return err
		}
		if !bytes.Equal(code, want) {
			return fmt.Errorf("%w: the code at %s (%d bytes) is not the %v verifier of the local key", ErrMismatch, fam.Verifier.Address, len(code), f)
		}
		if got := crypto.Keccak256Hash(code); got != fam.Verifier.CodeHash {
			return fmt.Errorf("%w: %v verifier code hash %s, record %s", ErrMismatch, f, got, fam.Verifier.CodeHash)
		}
	}
	code, err := l1.CodeAt(ctx, rec.Bridge.Address, nil)
	if err != nil {
		return fmt.Errorf("deploy: code at %s: %w", rec.Bridge.Address, err)
	}
	if got := crypto.Keccak256Hash(code); len(code) == 0 || got != rec.Bridge.CodeHash {
		return fmt.Errorf("%w: the bridge's code at %s (%d bytes, hash %s) is not the record's (%s)", ErrMismatch, rec.Bridge.Address, len(code), got, rec.Bridge.CodeHash)
	}
	c := bridge.NewContract(l1, rec.Bridge.Address)
	for i, f := range fams {
		v, err := c.Verifier(ctx, f)
		if err != nil {
			return err
		}
		if v != rec.Families[i].Verifier.Address {
			return fmt.Errorf("%w: the bridge's %v verifier is %s, the record's %s", ErrMismatch, f, v, rec.Families[i].Verifier.Address)
		}
	}
	p := rec.Params.Params()
	onChain, err := c.Params(ctx, p)
	if err != nil {
		return err
	}
	if onChain != p {
		return fmt.Errorf("%w: the bridge's parameters %+v, the record's %+v", ErrMismatch, onChain, p)
	}
	gov, err := c.Governor(ctx)
	if err != nil {
		return err
	}
	if gov != rec.Governor {
		return fmt.Errorf("%w: the bridge's governor %s, the record's %s", ErrMismatch, gov, rec.Governor)
	}
	return nil
}

func elemHex(e fr.Element) string { return "0x" + e.Text(16) }
