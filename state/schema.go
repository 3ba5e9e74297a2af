package state

import (
	"encoding/binary"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// Storage schema. Every key the state layer writes starts with one of these
// bytes (the store reserves 0xFF). Tree nodes are written by state/smt under
// the tree namespaces; leaf preimages and indexes live beside them.
//
//	'A'                                  account tree nodes        (smt namespace)
//	'M'                                  model tree nodes          (smt namespace)
//	'B' ‖ account u32                    balance tree of an account (smt namespace)
//	'P' ‖ account u32                    position tree of an account (smt namespace)
//	'O' ‖ account u32 ‖ model u16        order-slot tree of a position (smt namespace)
//	'a' ‖ account u32                 -> Account record (88 bytes)
//	'p' ‖ account u32 ‖ model u16     -> Position record (80 bytes)
//	'm' ‖ model u16                   -> Model record (216 bytes)
//	'k' ‖ l1 address ‖ pkX ‖ pkY      -> account u32 (lookup index for the API; the
//	                                     bridge assigns account ids, so it is not consensus)
//	'g' ‖ name                        -> global counters (nextPriority)
//	'h' ‖ batch u64                   -> sealed batch header
//	'd' ‖ batch u64                   -> sealed batch pubdata
//	't' ‖ batch u64                   -> sealed batch transactions (wire encoding, length-prefixed)
const (
	nsAccounts  = 'A'
	nsModels    = 'M'
	nsBalances  = 'B'
	nsPositions = 'P'
	nsOrders    = 'O'
	keyAccount  = 'a'
	keyPosition = 'p'
	keyModel    = 'm'
	keyIndex    = 'k'
	keyGlobal   = 'g'
	keyHeader   = 'h'
	keyPubdata  = 'd'
	keyTxs      = 't'
)

var (
	keyNextPriority = []byte{keyGlobal, 'n', 'p'}
)

func accountKey(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{keyAccount}, id) }

func positionKey(id uint32, model uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32([]byte{keyPosition}, id), model)
}

func modelKey(model uint16) []byte { return binary.BigEndian.AppendUint16([]byte{keyModel}, model) }

func indexKey(a *Account) []byte {
	x, y := a.PubKey.X.Bytes(), a.PubKey.Y.Bytes()
	k := append([]byte{keyIndex}, a.L1Address[:]...)
	k = append(k, x[:]...)
	return append(k, y[:]...)
}

func batchKey(prefix byte, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{prefix}, n) }

func balanceNS(id uint32) []byte  { return binary.BigEndian.AppendUint32([]byte{nsBalances}, id) }
func positionNS(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{nsPositions}, id) }
func orderNS(id uint32, model uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32([]byte{nsOrders}, id), model)
}

// Zero leaves (docs/protocol.md §3.6): an empty slot of every tree holds the
// hash of an all-zero preimage over empty subtrees, so the circuit needs no
// special case for creation.
type zeroLeaves struct {
	order, balance, position, account, model fr.Element
	orderRoot, balanceRoot, positionRoot     fr.Element
}

// zerosCache maps types.Params → zeroLeaves (hundreds of hashes each; a
// State is made for every batch and every soft read).
var zerosCache sync.Map

func computeZeros(p types.Params) zeroLeaves {
	if z, ok := zerosCache.Load(p); ok {
		return z.(zeroLeaves)
	}
	z := makeZeros(p)
	zerosCache.Store(p, z)
	return z
}

func makeZeros(p types.Params) zeroLeaves {
	var z zeroLeaves
	// order and balance leaves are packed values: zero is 0
	z.orderRoot = emptyRoot(p.OrderDepth, z.order)
	z.position = PositionLeaf(&Position{}, z.orderRoot)
	z.balanceRoot = emptyRoot(p.BalanceDepth, z.balance)
	z.positionRoot = emptyRoot(p.ModelDepth, z.position)
	z.account = AccountLeaf(&Account{}, z.balanceRoot, z.positionRoot)
	z.model = ModelLeaf(&Model{})
	return z
}

// emptyRoot is the root of a 4-ary tree of depth bits whose leaves all equal leaf.
func emptyRoot(depth int, leaf fr.Element) fr.Element {
	return smt.New(nil, depth, leaf).EmptyRoot()
}
