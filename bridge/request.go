package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/types"
)

// Request sizes (docs/protocol.md §11.2): an operation's pubdata without the
// fields the operator fills in.
const (
	DepositRequestBytes = 102 // pubdata without the refused byte
	ForcedRequestBytes  = 26  // pubdata without the amount
)

// ErrBadRequest is a PriorityRequest whose bytes are not a request of §11.2.
var ErrBadRequest = errors.New("bridge: malformed priority request")

// DecodeRequest turns the bytes of priority request id (its PriorityRequest
// event) into the L2 operation the sequencer applies.
func DecodeRequest(id uint64, req []byte) (types.Tx, error) {
	if len(req) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadRequest)
	}
	switch types.Kind(req[0]) {
	case types.KindDeposit:
		if len(req) != DepositRequestBytes {
			return nil, fmt.Errorf("%w: deposit of %d bytes", ErrBadRequest, len(req))
		}
		d := &types.Deposit{
			PriorityID: id,
			Account:    be24(req[1:4]),
			Token:      binary.BigEndian.Uint16(req[4:6]),
			L1Address:  common.BytesToAddress(req[18:38]),
		}
		d.Amount.SetBytes(req[6:18])
		x, errX := fr.BigEndian.Element((*[32]byte)(req[38:70]))
		y, errY := fr.BigEndian.Element((*[32]byte)(req[70:102]))
		if errX != nil || errY != nil {
			return nil, fmt.Errorf("%w: key not in the field", ErrBadRequest)
		}
		d.PubKey = types.PubKey{X: x, Y: y}
		return d, nil
	case types.KindForcedWithdraw:
		if len(req) != ForcedRequestBytes {
			return nil, fmt.Errorf("%w: forced withdrawal of %d bytes", ErrBadRequest, len(req))
		}
		return &types.ForcedWithdraw{
			PriorityID: id,
			Account:    be24(req[1:4]),
			Token:      binary.BigEndian.Uint16(req[4:6]),
			Requester:  common.BytesToAddress(req[6:26]),
		}, nil
	}
	return nil, fmt.Errorf("%w: type %d", ErrBadRequest, req[0])
}

// EncodeRequest is DecodeRequest's inverse: the request bytes of a deposit or
// forced withdrawal, as the contract builds them.
func EncodeRequest(tx types.Tx) ([]byte, error) {
	switch t := tx.(type) {
	case *types.Deposit:
		b := make([]byte, 0, DepositRequestBytes)
		b = append(b, byte(types.KindDeposit))
		b = appendBE24(b, t.Account)
		b = binary.BigEndian.AppendUint16(b, t.Token)
		if !types.Fits(&t.Amount, types.AmountBits) {
			return nil, fmt.Errorf("%w: amount over 96 bits", ErrBadRequest)
		}
		amt := t.Amount.Bytes32()
		b = append(b, amt[20:]...)
		b = append(b, t.L1Address.Bytes()...)
		x, y := t.PubKey.X.Bytes(), t.PubKey.Y.Bytes()
		b = append(b, x[:]...)
		return append(b, y[:]...), nil
	case *types.ForcedWithdraw:
		b := make([]byte, 0, ForcedRequestBytes)
		b = append(b, byte(types.KindForcedWithdraw))
		b = appendBE24(b, t.Account)
		b = binary.BigEndian.AppendUint16(b, t.Token)
		return append(b, t.Requester.Bytes()...), nil
	}
	return nil, fmt.Errorf("%w: %T is not a priority operation", ErrBadRequest, tx)
}

func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

func appendBE24(b []byte, v uint32) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }
