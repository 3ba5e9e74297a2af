package prover

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	csbn254 "github.com/consensys/gnark/constraint/bn254"
)

// Keys are one circuit's constraint system and its Groth16 keys. They belong
// together: keys from one compilation do not fit another.
type Keys struct {
	CCS constraint.ConstraintSystem
	PK  groth16.ProvingKey
	VK  groth16.VerifyingKey
	// Insecure marks keys from DevSetup: the toxic waste was known to the
	// process that made them, so whoever ran it can forge proofs. DevSetup
	// sets it, SealCeremony leaves it false; Save writes it into the
	// directory's ManifestFile, LoadKeys reads it back, and VKHash covers
	// it. A keys directory with no ManifestFile (written before keys carried
	// their origin) loads as Insecure: every such directory came from the
	// dev setup (the devnet's key cache, modex setup --dev). CheckSecure
	// refuses insecure keys unless they are allowed.
	Insecure bool
}

// File names inside a keys directory (Keys.Save, LoadKeys). CCSFile,
// PKFile and VKFile are gnark's own encodings, readable by gnark as they
// are; ManifestFile is the keys' mark: JSON
//
//	{"origin": "insecure-dev-setup" | "ceremony", "vkHash": "0x…", "warning": "…"}
//
// where vkHash is VKHash(VK, origin is insecure-dev-setup) and warning is
// a note for people (dev keys only). LoadKeys refuses a manifest whose
// vkHash is not that of the verifying key beside it (ErrKeysManifest).
const (
	CCSFile      = "circuit.ccs"
	PKFile       = "proving.key"
	VKFile       = "verifying.key"
	ManifestFile = "keys.json"
)

// The origins a ManifestFile names.
const (
	OriginDevSetup = "insecure-dev-setup" // DevSetup: INSECURE
	OriginCeremony = "ceremony"           // SealCeremony (an MPC ceremony)
)

// vkHashTag is the domain tag of VKHash; a new hash layout takes a new tag.
const vkHashTag = "modex/groth16-vk-hash/v1"

const devKeysWarning = "INSECURE: made by the single-party development setup (modex setup --dev, the devnet); " +
	"the toxic waste was known to the process that made these keys, so proofs can be forged. " +
	"Devnets only: modex node refuses them without --insecure-dev-keys. Real keys come from modex ceremony."

// manifest is ManifestFile's content.
type manifest struct {
	Origin  string `json:"origin"`
	VKHash  string `json:"vkHash"`
	Warning string `json:"warning,omitempty"`
}

func origin(insecure bool) string {
	if insecure {
		return OriginDevSetup
	}
	return OriginCeremony
}

// VKHash is the hash that names a verifying key together with its origin:
// SHA-256 over the tag "modex/groth16-vk-hash/v1", a zero byte, the origin
// (OriginDevSetup when insecure, else OriginCeremony), a zero byte, and the
// key's raw encoding (gnark's WriteRawTo, uncompressed points). A dev key
// and a ceremony key with the same points hash differently, so a record of
// the hash (a deployment, a manifest) also says which one it was.
func VKHash(vk groth16.VerifyingKey, insecure bool) ([32]byte, error) {
	if v, ok := vk.(*groth16bn254.VerifyingKey); !ok || v == nil {
		return [32]byte{}, fmt.Errorf("%w: verifying key %T", ErrNotBN254, vk)
	}
	h := sha256.New()
	h.Write([]byte(vkHashTag))
	h.Write([]byte{0})
	h.Write([]byte(origin(insecure)))
	h.Write([]byte{0})
	if _, err := vk.WriteRawTo(h); err != nil {
		return [32]byte{}, fmt.Errorf("prover: hash verifying key: %w", err)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// Origin is the keys' origin as the manifest names it: OriginDevSetup when
// Insecure, else OriginCeremony.
func (k *Keys) Origin() string { return origin(k.Insecure) }

// VKHash is VKHash(k.VK, k.Insecure).
func (k *Keys) VKHash() ([32]byte, error) {
	if k == nil {
		return [32]byte{}, fmt.Errorf("%w: no keys", ErrKeyMismatch)
	}
	return VKHash(k.VK, k.Insecure)
}

// CheckSecure returns nil for keys from a ceremony, and for insecure keys
// when allowInsecure (--insecure-dev-keys); otherwise an error wrapping
// ErrInsecureKeys that says why and how to allow them.
func (k *Keys) CheckSecure(allowInsecure bool) error {
	if k == nil {
		return fmt.Errorf("%w: no keys", ErrKeyMismatch)
	}
	if !k.Insecure || allowInsecure {
		return nil
	}
	return fmt.Errorf("%w: these keys come from the INSECURE development setup (modex setup --dev or a devnet's key cache), "+
		"whose toxic waste was known to the process that made them, so anyone holding it can forge proofs; "+
		"--insecure-dev-keys accepts them, for devnets only; real deployments need keys from modex ceremony", ErrInsecureKeys)
}

func newR1CS() constraint.ConstraintSystem { return groth16.NewCS(ecc.BN254) }

// DevSetup runs gnark's single-party Groth16 setup for ccs.
//
// INSECURE: the toxic waste (τ, α, β, γ, δ) exists in this process's memory,
// so whoever controls or inspects the process can forge proofs. It is for
// tests and devnets only; real funds need keys from an MPC ceremony
// (InitPhase1 … SealCeremony). DevSetup logs a warning saying so.
func DevSetup(ccs constraint.ConstraintSystem) (k *Keys, err error) {
	if err := checkCCS(ccs); err != nil {
		return nil, err
	}
	logger().Warn("INSECURE development setup: toxic waste known to this process; never use for real funds",
		"constraints", ccs.GetNbConstraints())
	done := stage("dev-setup", "constraints", ccs.GetNbConstraints())
	pk, vk, err := groth16.Setup(ccs)
	done(&err)
	if err != nil {
		return nil, fmt.Errorf("prover: groth16 setup: %w", err)
	}
	k = &Keys{CCS: ccs, PK: pk, VK: vk, Insecure: true}
	return k, k.Check()
}

func checkCCS(ccs constraint.ConstraintSystem) error {
	if _, ok := ccs.(*csbn254.R1CS); !ok {
		return fmt.Errorf("%w: constraint system %T (want BN254 R1CS)", ErrNotBN254, ccs)
	}
	return checkNoCommitments(ccs)
}

// Check verifies that the three parts are BN254, have no commitments and
// belong together as far as their shapes tell (public input count, domain
// size, wire counts). It cannot prove that PK and VK come from one setup: the
// native verification of every proof catches that.
func (k *Keys) Check() error {
	if k == nil || k.CCS == nil || k.PK == nil || k.VK == nil {
		return fmt.Errorf("%w: incomplete keys", ErrKeyMismatch)
	}
	if err := checkCCS(k.CCS); err != nil {
		return err
	}
	pk, ok := k.PK.(*groth16bn254.ProvingKey)
	if !ok {
		return fmt.Errorf("%w: proving key %T", ErrNotBN254, k.PK)
	}
	vk, ok := k.VK.(*groth16bn254.VerifyingKey)
	if !ok {
		return fmt.Errorf("%w: verifying key %T", ErrNotBN254, k.VK)
	}
	if len(vk.PublicAndCommitmentCommitted) > 0 || len(pk.CommitmentKeys) > 0 {
		return fmt.Errorf("%w (in the keys)", ErrCommitment)
	}
	nPub := k.CCS.GetNbPublicVariables() // includes the constant 1 wire
	if len(vk.G1.K) != nPub {
		return fmt.Errorf("%w: verifying key has %d public inputs, circuit %d", ErrKeyMismatch, len(vk.G1.K)-1, nPub-1)
	}
	if pk.Domain.Cardinality < uint64(k.CCS.GetNbConstraints()) {
		return fmt.Errorf("%w: proving key domain %d < %d constraints", ErrKeyMismatch, pk.Domain.Cardinality, k.CCS.GetNbConstraints())
	}
	nWires := k.CCS.GetNbPublicVariables() + k.CCS.GetNbSecretVariables() + k.CCS.GetNbInternalVariables()
	if len(pk.InfinityA) != nWires || len(pk.InfinityB) != nWires {
		return fmt.Errorf("%w: proving key has %d wires, circuit %d", ErrKeyMismatch, len(pk.InfinityA), nWires)
	}
	return nil
}

// Save writes the keys into dir (created if missing) as CCSFile, PKFile and
// VKFile, each atomically, the keys in gnark's raw (uncompressed) form, and
// last the ManifestFile with their origin (k.Insecure) and VKHash. The old
// manifest goes first, so keys interrupted mid-save load as insecure (no
// manifest), never as another key's origin.
func (k *Keys) Save(dir string) error {
	if err := k.Check(); err != nil {
		return err
	}
	sum, err := k.VKHash()
	if err != nil {
		return err
	}
	m := manifest{Origin: origin(k.Insecure), VKHash: "0x" + hex.EncodeToString(sum[:])}
	if k.Insecure {
		m.Warning = devKeysWarning
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("prover: %w", err)
	}
	if err := writeTo(filepath.Join(dir, CCSFile), k.CCS.WriteTo); err != nil {
		return err
	}
	if err := writeTo(filepath.Join(dir, PKFile), k.PK.WriteRawTo); err != nil {
		return err
	}
	if err := WriteVerifyingKey(filepath.Join(dir, VKFile), k.VK); err != nil {
		return err
	}
	path := filepath.Join(dir, ManifestFile)
	err = writeFileAtomic(path, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(m)
	})
	if err != nil {
		return fmt.Errorf("prover: write %s: %w", path, err)
	}
	return nil
}

// LoadKeys reads keys written by Save and checks them (Keys.Check). The
// verifying key and the mark come first (LoadVerifyingKey): a manifest that
// does not match is refused before the large files are read. The proving
// key is read without subgroup checks (gnark's UnsafeReadFrom, much faster
// for large keys): a corrupt proving key can only yield proofs that fail
// the native verification every Prove runs. The verifying key is fully
// checked.
func LoadKeys(dir string) (*Keys, error) {
	vk, insecure, err := LoadVerifyingKey(dir)
	if err != nil {
		return nil, err
	}
	ccs := newR1CS()
	if err := readFrom(filepath.Join(dir, CCSFile), ccs.ReadFrom); err != nil {
		return nil, err
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	if err := readFrom(filepath.Join(dir, PKFile), pk.UnsafeReadFrom); err != nil {
		return nil, err
	}
	k := &Keys{CCS: ccs, PK: pk, VK: vk, Insecure: insecure}
	if err := k.Check(); err != nil {
		return nil, fmt.Errorf("prover: load keys from %s: %w", dir, err)
	}
	return k, nil
}

// LoadVerifyingKey reads only the verifying key of a keys directory and
// its mark (whether it is insecure; see Keys.Insecure), checked against
// each other like LoadKeys does: for what needs the key's hash and origin
// but not the (large) proving key.
func LoadVerifyingKey(dir string) (vk groth16.VerifyingKey, insecure bool, err error) {
	if vk, err = ReadVerifyingKey(filepath.Join(dir, VKFile)); err != nil {
		return nil, false, err
	}
	if insecure, err = readManifest(dir, vk); err != nil {
		return nil, false, err
	}
	return vk, insecure, nil
}

// readManifest reads dir's ManifestFile and checks it against vk; it
// returns whether the keys are insecure. No manifest: insecure (keys saved
// before the mark existed all came from the dev setup).
func readManifest(dir string, vk groth16.VerifyingKey) (bool, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		logger().Warn("keys without "+ManifestFile+" (saved before keys carried their origin): loaded as INSECURE development keys", "dir", dir)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("prover: %w", err)
	}
	var m manifest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrKeysManifest, path, err)
	}
	if d.Decode(&struct{}{}) != io.EOF {
		return false, fmt.Errorf("%w: %s: trailing data", ErrKeysManifest, path)
	}
	var insecure bool
	switch m.Origin {
	case OriginDevSetup:
		insecure = true
	case OriginCeremony:
	default:
		return false, fmt.Errorf("%w: %s: origin %q (want %q or %q)", ErrKeysManifest, path, m.Origin, OriginDevSetup, OriginCeremony)
	}
	sum, err := VKHash(vk, insecure)
	if err != nil {
		return false, err
	}
	if want := "0x" + hex.EncodeToString(sum[:]); !strings.EqualFold(m.VKHash, want) {
		return false, fmt.Errorf("%w: %s: vkHash %s, but %s under origin %s hashes to %s (the mark was edited or the keys replaced)",
			ErrKeysManifest, path, m.VKHash, VKFile, m.Origin, want)
	}
	return insecure, nil
}

// WriteVerifyingKey writes vk (raw form) to path atomically.
func WriteVerifyingKey(path string, vk groth16.VerifyingKey) error {
	return writeTo(path, vk.WriteRawTo)
}

// ReadVerifyingKey reads a verifying key (raw or compressed form) with full
// point checks.
func ReadVerifyingKey(path string) (groth16.VerifyingKey, error) {
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if err := readFrom(path, vk.ReadFrom); err != nil {
		return nil, err
	}
	return vk, nil
}

func writeTo(path string, wt func(io.Writer) (int64, error)) error {
	err := writeFileAtomic(path, func(w io.Writer) error { _, err := wt(w); return err })
	if err != nil {
		return fmt.Errorf("prover: write %s: %w", path, err)
	}
	return nil
}

// readFrom reads path with rf and insists that rf consumed the whole file.
func readFrom(path string, rf func(io.Reader) (int64, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("prover: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("prover: %w", err)
	}
	n, err := rf(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("prover: read %s: %w", path, err)
	}
	if n != st.Size() {
		return fmt.Errorf("prover: read %s: %d of %d bytes used (trailing data)", path, n, st.Size())
	}
	return nil
}
