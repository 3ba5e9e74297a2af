package types

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Family is a batch's type (docs/protocol.md §8): every batch holds the
// transactions of one family only, and each family has its own circuit and
// verifying key, so a slot pays for its family's gadgets and nothing else.
type Family uint8

const (
	FamilyNone          Family = 0  // no transaction yet
	FamilyPriority      Family = 1  // Deposit, ForcedWithdraw (L1 queue order)
	FamilyTransfer      Family = 2  // Transfer of a base token
	FamilyWithdraw      Family = 3  // Withdraw
	FamilyModelAdmin    Family = 4  // CreateModel, MintShares, SetModelParams
	FamilyTrade         Family = 5  // Trade
	FamilyCancel        Family = 6  // CancelOrder
	FamilyAssetTransfer Family = 7  // Transfer of shares or credits
	FamilyBuyCredits    Family = 8  // BuyCredits
	FamilyRedeemCredits Family = 9  // RedeemCredits
	FamilyClaimRevenue  Family = 10 // ClaimRevenue
	familyCount                = 11
)

var familyNames = [familyCount]string{"None", "Priority", "Transfer", "Withdraw", "ModelAdmin", "Trade", "Cancel",
	"AssetTransfer", "BuyCredits", "RedeemCredits", "ClaimRevenue"}

func (f Family) String() string {
	if f < familyCount {
		return familyNames[f]
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// AllFamilies lists the families a batch can have.
func AllFamilies() []Family {
	out := make([]Family, 0, familyCount-1)
	for f := Family(1); f < familyCount; f++ {
		out = append(out, f)
	}
	return out
}

// ParseFamily returns the family with a name.
func ParseFamily(s string) (Family, error) {
	for f := Family(1); f < familyCount; f++ {
		if familyNames[f] == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown batch family %q", ErrMalformed, s)
}

// Kinds are the transaction kinds of a family.
func (f Family) Kinds() []Kind {
	switch f {
	case FamilyPriority:
		return []Kind{KindDeposit, KindForcedWithdraw}
	case FamilyTransfer, FamilyAssetTransfer:
		return []Kind{KindTransfer}
	case FamilyWithdraw:
		return []Kind{KindWithdraw}
	case FamilyModelAdmin:
		return []Kind{KindCreateModel, KindMintShares, KindSetModelParams}
	case FamilyTrade:
		return []Kind{KindTrade}
	case FamilyCancel:
		return []Kind{KindCancelOrder}
	case FamilyBuyCredits:
		return []Kind{KindBuyCredits}
	case FamilyRedeemCredits:
		return []Kind{KindRedeemCredits}
	case FamilyClaimRevenue:
		return []Kind{KindClaimRevenue}
	}
	return nil
}

// SlotBytes is the pubdata size of one slot of the family: the largest
// pubdata of its kinds. A shorter operation is zero-padded to it, and an
// unused slot is all zero (a Noop).
func (f Family) SlotBytes() int {
	n := 0
	for _, k := range f.Kinds() {
		n = max(n, PubdataSize[k])
	}
	return n
}

// FamilyOf is the family of a transaction (Noop has none).
func FamilyOf(tx Tx) Family { return tx.family() }

// ChunkBytes is the size of a pubdata chunk: 31 bytes, one field element.
const ChunkBytes = 31

// PubdataCommitment is the batch's pubdata commitment (docs/protocol.md §6):
// each slot of SlotBytes is cut into 31-byte chunks (the last one
// zero-padded), each chunk read as a big-endian integer, and the chunks of
// all slots in order go through HashChain. The pubdata must be whole slots.
func PubdataCommitment(f Family, pubdata []byte) (fr.Element, error) {
	sb := f.SlotBytes()
	if sb == 0 || len(pubdata)%sb != 0 {
		return fr.Element{}, fmt.Errorf("%w: %d pubdata bytes are not whole %v slots", ErrMalformed, len(pubdata), f)
	}
	var h fr.Element
	var chunk [ChunkBytes]byte
	for s := 0; s < len(pubdata); s += sb {
		slot := pubdata[s : s+sb]
		for c := 0; c < sb; c += ChunkBytes {
			clear(chunk[:])
			copy(chunk[:], slot[c:min(c+ChunkBytes, sb)])
			var x fr.Element
			x.SetBytes(chunk[:])
			h = Compress(h, x)
		}
	}
	return h, nil
}

// SlotChunks is the number of chunks per slot of the family.
func (f Family) SlotChunks() int { return (f.SlotBytes() + ChunkBytes - 1) / ChunkBytes }
