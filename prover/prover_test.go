package prover

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func TestProve(t *testing.T) {
	k := mustDevKeys(t)
	p := NewCPU(k)
	ctx := context.Background()

	proof, err := p.Prove(ctx, compressAssignment(1, 3, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(p.VerifyingKey()); err != nil {
		t.Fatal(err)
	}
	in, err := proof.PublicInputs()
	if err != nil {
		t.Fatal(err)
	}
	want := compressAssignment(1, 3, 4).Out.(fr.Element)
	if len(in) != 1 || in[0].Cmp(want.BigInt(new(big.Int))) != 0 {
		t.Fatalf("public inputs = %v, want [%s]", in, want.String())
	}

	t.Run("marshal round trip", func(t *testing.T) {
		b, err := proof.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var q Proof
		if err := q.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if err := q.Verify(k.VK); err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
			if err := new(Proof).UnmarshalBinary(bad); err == nil {
				t.Fatalf("UnmarshalBinary accepted %d bytes", len(bad))
			}
		}
	})

	bad := []struct {
		name string
		ctx  func() context.Context
		a    *compressCircuit
		want error
	}{
		{"unsatisfied", context.Background, func() *compressCircuit {
			a := compressAssignment(1, 3, 4)
			a.Out = 5
			return a
		}(), ErrProve},
		{"unassigned field", context.Background, &compressCircuit{K: 1, L: 1, R: 2}, ErrWitness},
		{"cancelled", func() context.Context {
			c, cancel := context.WithCancel(context.Background())
			cancel()
			return c
		}, compressAssignment(1, 3, 4), context.Canceled},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Prove(c.ctx(), c.a)
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("Prove = %v, %v; want nil, %v", got, err, c.want)
			}
		})
	}
}

// TestProveNeverReturnsFailingProof: a proving key from one setup with the
// verifying key of another makes proofs that fail; Prove must refuse them.
func TestProveNeverReturnsFailingProof(t *testing.T) {
	k := mustDevKeys(t)
	other, err := DevSetup(k.CCS)
	if err != nil {
		t.Fatal(err)
	}
	mixed := &Keys{CCS: k.CCS, PK: k.PK, VK: other.VK}
	got, err := NewCPU(mixed).Prove(context.Background(), compressAssignment(1, 1, 2))
	if !errors.Is(err, ErrProofRejected) || got != nil {
		t.Fatalf("Prove = %v, %v; want nil, ErrProofRejected", got, err)
	}
}

func TestKeysSaveLoad(t *testing.T) {
	k := mustDevKeys(t)
	dir := t.TempDir()
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := NewCPU(l).Prove(context.Background(), compressAssignment(1, 7, 8))
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(k.VK); err != nil { // loaded keys = saved keys
		t.Fatal(err)
	}
	vk, err := ReadVerifyingKey(dir + "/" + VKFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(vk); err != nil {
		t.Fatal(err)
	}
}

func TestKeysCheck(t *testing.T) {
	k := mustDevKeys(t)
	ccs2, err := Compile(&twoPublic{}, "test/two-public", "")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := DevSetup(ccs2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		keys *Keys
		want error
	}{
		{"good", k, nil},
		{"nil", nil, ErrKeyMismatch},
		{"missing vk", &Keys{CCS: k.CCS, PK: k.PK}, ErrKeyMismatch},
		{"vk of other circuit", &Keys{CCS: k.CCS, PK: k.PK, VK: k2.VK}, ErrKeyMismatch},
		{"pk of other circuit", &Keys{CCS: k.CCS, PK: k2.PK, VK: k.VK}, ErrKeyMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.keys.Check(); !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
		})
	}
}
