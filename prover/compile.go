package prover

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/consensys/gnark"
	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// cacheMagic starts every cache file; bump the digit when the layout changes.
const cacheMagic = "MODEX-CCS-1\n"

// gnarkVersion names the gnark that compiles: the module version from the
// build info when there is one (it changes with every release, replace
// directives included), else gnark.Version.
func gnarkVersion() string {
	v := "gnark@" + gnark.Version.String()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/consensys/gnark" {
				m := d
				if d.Replace != nil {
					m = d.Replace
				}
				v += "/" + m.Path + "@" + m.Version + "/" + m.Sum
			}
		}
	}
	return v
}

// cacheID is the full string a cache file is keyed by (its hash names the file,
// and the string itself is stored in the file and compared on load).
func cacheID(key string) string {
	return "modex-prover-ccs\x00bn254/r1cs\x00" + gnarkVersion() + "\x00" + key
}

// CachePath is the file Compile uses for key under cacheDir.
func CachePath(cacheDir, key string) string {
	h := sha256.Sum256([]byte(cacheID(key)))
	return filepath.Join(cacheDir, "ccs-"+hex.EncodeToString(h[:16])+".bin")
}

// Compile compiles circuit to a BN254 R1CS with gnark's frontend.
//
// When cacheDir is not empty, the serialized constraint system is cached in
// cacheDir, keyed by a hash of key and of the gnark version. key must name the
// circuit AND everything that changes its constraints (e.g.
// "batch/v1/depths=24,16/slots=64"): a caller that changes the circuit without
// changing key gets the stale cached system (the keys made from it then do not
// fit the new circuit). A cache hit skips compilation. Each cache file carries
// its key string and a SHA-256 of its payload; a file that fails either check or
// does not deserialize is logged, recompiled and rewritten, never trusted.
// Writes are atomic (temp file + rename), so concurrent compilers are safe.
//
// Circuits that use gnark commitments (std/rangecheck, api.Commit) are
// rejected with ErrCommitment: Modex uses plain Groth16 only.
func Compile(circuit frontend.Circuit, key string, cacheDir string) (ccs constraint.ConstraintSystem, err error) {
	log := logger().With("key", key)
	var path string
	if cacheDir != "" {
		path = CachePath(cacheDir, key)
		ccs, err := readCache(path, cacheID(key))
		switch {
		case err == nil:
			log.Info("constraint system from cache", "path", path, "constraints", ccs.GetNbConstraints())
			return ccs, checkNoCommitments(ccs)
		case errors.Is(err, os.ErrNotExist):
		default:
			log.Warn("ignoring cache file; recompiling", "path", path, "err", err)
		}
	}

	done := stage("compile", "key", key)
	ccs, err = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	done(&err)
	if err != nil {
		return nil, fmt.Errorf("prover: compile %q: %w", key, err)
	}
	log.Info("compiled", "constraints", ccs.GetNbConstraints(),
		"public", ccs.GetNbPublicVariables()-1, "secret", ccs.GetNbSecretVariables())
	if err := checkNoCommitments(ccs); err != nil {
		return nil, err
	}
	if path != "" {
		if err := writeCache(path, cacheID(key), ccs); err != nil {
			// A cache that cannot be written costs time, not correctness.
			log.Warn("cannot write constraint-system cache", "path", path, "err", err)
		}
	}
	return ccs, nil
}

func checkNoCommitments(ccs constraint.ConstraintSystem) error {
	if c, ok := ccs.GetCommitments().(constraint.Groth16Commitments); ok && len(c) > 0 {
		return fmt.Errorf("%w (%d commitments)", ErrCommitment, len(c))
	}
	return nil
}

// Cache file: magic ‖ u32 len(id) ‖ id ‖ sha256(payload) ‖ u64 len(payload) ‖ payload.
func writeCache(path, id string, ccs constraint.ConstraintSystem) error {
	var payload bytes.Buffer
	if _, err := ccs.WriteTo(&payload); err != nil {
		return err
	}
	sum := sha256.Sum256(payload.Bytes())
	var hdr bytes.Buffer
	hdr.WriteString(cacheMagic)
	binary.Write(&hdr, binary.BigEndian, uint32(len(id)))
	hdr.WriteString(id)
	hdr.Write(sum[:])
	binary.Write(&hdr, binary.BigEndian, uint64(payload.Len()))
	return writeFileAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(hdr.Bytes()); err != nil {
			return err
		}
		_, err := w.Write(payload.Bytes())
		return err
	})
}

func readCache(path, id string) (constraint.ConstraintSystem, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	corrupt := func(what string) error { return fmt.Errorf("%w: %s: %s", ErrCacheCorrupt, path, what) }
	if !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, corrupt("bad magic")
	}
	b = b[len(cacheMagic):]
	if len(b) < 4 {
		return nil, corrupt("truncated")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) < uint64(n)+32+8 {
		return nil, corrupt("truncated")
	}
	if string(b[:n]) != id {
		return nil, corrupt("key or gnark version differs")
	}
	b = b[n:]
	sum, b := b[:32], b[32:]
	plen := binary.BigEndian.Uint64(b)
	b = b[8:]
	if uint64(len(b)) != plen {
		return nil, corrupt("payload length")
	}
	if got := sha256.Sum256(b); !bytes.Equal(got[:], sum) {
		return nil, corrupt("checksum")
	}
	ccs := newR1CS()
	m, err := ccs.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, corrupt(err.Error())
	}
	if m != int64(len(b)) {
		return nil, corrupt("trailing bytes")
	}
	return ccs, nil
}

// writeFileAtomic streams write's output to path through a buffered temp file
// in the same directory, synced and renamed into place: readers see the old
// file or the whole new one, never a torn one.
func writeFileAtomic(path string, write func(w io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
