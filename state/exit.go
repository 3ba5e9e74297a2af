package state

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// ErrBadExitProof: an exit proof is malformed (path lengths, ids or balance
// out of range) or does not lead to the expected state root.
var ErrBadExitProof = errors.New("state: invalid exit proof")

// ExitProof is what the bridge's exit (docs/protocol.md §11.5) verifies on
// chain in exodus mode: one base-token balance of one account, proven against
// the last verified state root. Root recomputes that root the way the
// contract does:
//
//	balanceRoot  = fold(balance leaf = Balance, Token, BalancePath)
//	account leaf = C(C(pkX, pkY), C(Nonce + L1Address·2^32, C(balanceRoot, PositionRoot)))
//	accountRoot  = fold(account leaf, Account, AccountPath)
//	stateRoot    = C(accountRoot, ModelRoot)
//
// where fold hashes up a 4-ary tree with three siblings per level, leaf level
// first, index bits 2h and 2h+1 giving the node's position at level h (§3).
type ExitProof struct {
	Account      uint32
	Token        uint16
	PubKey       types.PubKey
	Nonce        uint32
	L1Address    common.Address // the exit pays this address
	Balance      uint256.Int    // the amount the exit pays, < 2^96
	PositionRoot fr.Element
	ModelRoot    fr.Element
	BalancePath  []fr.Element // smt.SiblingCount(BalanceDepth) siblings, leaf level first
	AccountPath  []fr.Element // smt.SiblingCount(AccountDepth) siblings, leaf level first
}

// ExitProof proves account's balance of base token in this state (use a
// View of the last verified batch). An account id outside the tree is
// types.ErrAccountRange, an empty account types.ErrAccountNotFound, a token
// outside the balance tree types.ErrAssetRange.
func (s *State) ExitProof(account uint32, token uint16) (*ExitProof, error) {
	a, err := s.Account(account)
	if err != nil {
		return nil, err
	}
	if err := s.checkToken(token); err != nil {
		return nil, err
	}
	bp, err := s.ProveBalance(account, token)
	if err != nil {
		return nil, err
	}
	ap, err := s.ProveAccount(account)
	if err != nil {
		return nil, err
	}
	_, posRoot, err := s.Subroots(account)
	if err != nil {
		return nil, err
	}
	_, modelRoot, err := s.Roots()
	if err != nil {
		return nil, err
	}
	e := &ExitProof{Account: account, Token: token, PubKey: a.PubKey, Nonce: a.Nonce, L1Address: a.L1Address,
		PositionRoot: posRoot, ModelRoot: modelRoot, BalancePath: bp.Siblings, AccountPath: ap.Siblings}
	e.Balance.Set(balanceFromLeaf(bp.Leaf))
	// the proof is of the stored leaves: the rebuilt account leaf is the stored one
	if ap.Leaf != e.accountLeaf() {
		return nil, fmt.Errorf("state: account %d: stored leaf does not match its record", account)
	}
	return e, nil
}

func (e *ExitProof) balanceRoot() fr.Element {
	return smt.Proof{Index: uint64(e.Token), Leaf: BalanceLeaf(&e.Balance), Siblings: e.BalancePath}.ComputeRoot()
}

func (e *ExitProof) accountLeaf() fr.Element {
	a := Account{PubKey: e.PubKey, Nonce: e.Nonce, L1Address: e.L1Address}
	return AccountLeaf(&a, e.balanceRoot(), e.PositionRoot)
}

// Root recomputes the state root from the proof alone, as the contract does.
// It does not check ranges or path lengths; Verify does.
func (e *ExitProof) Root() fr.Element {
	ar := smt.Proof{Index: uint64(e.Account), Leaf: e.accountLeaf(), Siblings: e.AccountPath}.ComputeRoot()
	return types.Compress(ar, e.ModelRoot)
}

// Verify checks the proof as the contract does against stateRoot: path
// lengths equal the tree depths, the account id and token are inside their
// trees (an index past the path would otherwise fold like a smaller one), the
// balance fits 96 bits, and Root() is stateRoot. Field elements are canonical
// by construction (fr.Element); the contract checks that its inputs are below r.
func (e *ExitProof) Verify(p types.Params, stateRoot fr.Element) error {
	switch {
	case len(e.BalancePath) != smt.SiblingCount(p.BalanceDepth) || len(e.AccountPath) != smt.SiblingCount(p.AccountDepth):
		return fmt.Errorf("%w: paths of %d and %d siblings, depths %d and %d", ErrBadExitProof,
			len(e.BalancePath), len(e.AccountPath), p.BalanceDepth, p.AccountDepth)
	case uint64(e.Account) >= 1<<p.AccountDepth:
		return fmt.Errorf("%w: %w: %d", ErrBadExitProof, types.ErrAccountRange, e.Account)
	case uint64(e.Token) >= 1<<p.BalanceDepth:
		return fmt.Errorf("%w: %w: token %d", ErrBadExitProof, types.ErrAssetRange, e.Token)
	case !types.Fits(&e.Balance, types.AmountBits):
		return fmt.Errorf("%w: %w: balance", ErrBadExitProof, types.ErrAmountTooLarge)
	}
	if r := e.Root(); r != stateRoot {
		return fmt.Errorf("%w: leads to root %s, not %s", ErrBadExitProof, r.Text(16), stateRoot.Text(16))
	}
	return nil
}
