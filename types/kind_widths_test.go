package types

import (
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// TestPackerRefusesWideValues: Packer.Add refuses a value wider than its
// field instead of dropping its high bits (v and v + 2^bits would sign
// alike), and MessageHash then fails.
func TestPackerRefusesWideValues(t *testing.T) {
	two96 := new(uint256.Int).Lsh(uint256.NewInt(1), AmountBits)
	cases := []struct {
		name string
		p    *Packer
		want error
	}{
		{"96-bit field, 2^96", new(Packer).Add(two96, AmountBits), ErrAmountTooLarge},
		{"24-bit field, 2^24", new(Packer).AddU64(1<<24, AccountBits), ErrAmountTooLarge},
		{"1-bit field, 2", new(Packer).AddU64(2, 1), ErrAmountTooLarge},
		{"the error sticks", new(Packer).AddU64(2, 1).AddU64(1, 8), ErrAmountTooLarge},
		{"field wider than a word", new(Packer).AddU64(1, 249), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Err(); !errors.Is(err, c.want) {
				t.Fatalf("Err() = %v, want %v", err, c.want)
			}
			if _, err := MessageHash(signDomain, c.p); !errors.Is(err, c.want) {
				t.Fatalf("MessageHash err = %v, want %v", err, c.want)
			}
		})
	}
	// at the bound: fits
	max96 := new(uint256.Int).SubUint64(two96, 1)
	if err := new(Packer).Add(max96, AmountBits).AddU64(1<<24-1, AccountBits).Err(); err != nil {
		t.Fatalf("values at their bound refused: %v", err)
	}
}

// TestCheckWidths: each kind's CheckWidths refuses every field one bit too
// wide for its message with the field's typed error, and the message (so
// signing) fails the same way: no two values of a field sign alike.
func TestCheckWidths(t *testing.T) {
	two96 := *new(uint256.Int).Lsh(uint256.NewInt(1), AmountBits)
	var r uint256.Int
	r.SetFromBig(fr.Modulus())
	order := func() Order {
		return Order{Account: 1, Model: 2, Side: Sell, OrderID: 3, Amount: 4, Price: *uint256.NewInt(5)}
	}
	cases := []struct {
		name string
		tx   Tx
		want error
	}{
		{"Deposit account 2^24", &Deposit{Account: 1 << 24}, ErrAccountRange},
		{"Deposit amount 2^96", &Deposit{Amount: two96}, ErrAmountTooLarge},
		{"ForcedWithdraw account 2^24", &ForcedWithdraw{Account: 1 << 24}, ErrAccountRange},
		{"Transfer from 2^24", &Transfer{From: 1 << 24}, ErrAccountRange},
		{"Transfer to 2^24", &Transfer{To: 1 << 24}, ErrAccountRange},
		{"Transfer asset 2^18", &Transfer{Asset: 1 << AssetBits}, ErrAssetRange},
		{"Transfer amount 2^96", &Transfer{Amount: two96}, ErrAmountTooLarge},
		{"Transfer fee 2^96", &Transfer{Fee: two96}, ErrAmountTooLarge},
		{"Withdraw account 2^24", &Withdraw{Account: 1 << 24}, ErrAccountRange},
		{"Withdraw amount 2^96", &Withdraw{Amount: two96}, ErrAmountTooLarge},
		{"Withdraw fee 2^96", &Withdraw{Fee: two96}, ErrAmountTooLarge},
		{"CreateModel holderBps 2^14", &CreateModel{HolderBps: 1 << BpsBits}, ErrBadBps},
		{"CreateModel price 2^96", &CreateModel{CreditPrice: two96}, ErrAmountTooLarge},
		{"CreateModel fee 2^96", &CreateModel{Fee: two96}, ErrAmountTooLarge},
		{"MintShares account 2^24", &MintShares{Account: 1 << 24}, ErrAccountRange},
		{"MintShares fee 2^96", &MintShares{Fee: two96}, ErrAmountTooLarge},
		{"SetModelParams holderBps 2^14", &SetModelParams{HolderBps: 1 << BpsBits}, ErrBadBps},
		{"SetModelParams price 2^96", &SetModelParams{CreditPrice: two96}, ErrAmountTooLarge},
		{"CancelOrder order id 2^24", &CancelOrder{OrderID: 1 << OrderIDBits}, ErrAmountTooLarge},
		{"CancelOrder fee 2^96", &CancelOrder{Fee: two96}, ErrAmountTooLarge},
		{"BuyCredits max price 2^96", &BuyCredits{MaxPrice: two96}, ErrAmountTooLarge},
		{"BuyCredits fee 2^96", &BuyCredits{Fee: two96}, ErrAmountTooLarge},
		{"RedeemCredits fee 2^96", &RedeemCredits{Fee: two96}, ErrAmountTooLarge},
		{"ClaimRevenue account 2^24", &ClaimRevenue{Account: 1 << 24}, ErrAccountRange},
		{"ClaimRevenue fee 2^96", &ClaimRevenue{Fee: two96}, ErrAmountTooLarge},
		{"Trade price 2^96", &Trade{Buy: order(), Sell: order(), Price: two96}, ErrAmountTooLarge},
		{"Trade buy order price P + r", func() Tx {
			tr := &Trade{Buy: order(), Sell: order()}
			tr.Buy.Price.Add(&tr.Buy.Price, &r)
			return tr
		}(), ErrAmountTooLarge},
		{"Trade sell order id 2^24", func() Tx {
			tr := &Trade{Buy: order(), Sell: order()}
			tr.Sell.OrderID = 1 << OrderIDBits
			return tr
		}(), ErrAmountTooLarge},
		{"Trade sell order side 2", func() Tx {
			tr := &Trade{Buy: order(), Sell: order()}
			tr.Sell.Side = 2
			return tr
		}(), ErrOrderSide},
		{"Trade buy order account 2^24", func() Tx {
			tr := &Trade{Buy: order(), Sell: order()}
			tr.Buy.Account = 1 << 24
			return tr
		}(), ErrAccountRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.tx.CheckWidths(); !errors.Is(err, c.want) {
				t.Fatalf("CheckWidths() = %v, want %v", err, c.want)
			}
			if st, ok := c.tx.(SignedTx); ok {
				if _, err := st.Message(signDomain); !errors.Is(err, c.want) {
					t.Fatalf("Message err = %v, want %v", err, c.want)
				}
				k, _ := GenerateKey(zeroReader{})
				if err := SignTx(k, signDomain, st); !errors.Is(err, c.want) {
					t.Fatalf("SignTx err = %v, want %v", err, c.want)
				}
			}
		})
	}
	// every kind at its bounds passes
	for _, k := range AllKinds() {
		tx, err := NewTx(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.CheckWidths(); err != nil {
			t.Fatalf("empty %v: %v", k, err)
		}
	}
	o := order()
	o.Price.Add(&o.Price, &r)
	if _, err := o.Message(signDomain); !errors.Is(err, ErrAmountTooLarge) {
		t.Fatalf("order priced P + r: message err = %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 7
	}
	return len(b), nil
}
