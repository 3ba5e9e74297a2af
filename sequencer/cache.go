package sequencer

import (
	"sync"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// accountCache is the pool's concurrent view of the soft state's accounts
// (key and next nonce): the loop writes every account it changes, in the
// open batch and in every sealed batch it replays at start; any other
// account is as the state store's head has it.
type accountCache struct {
	db *state.DB
	mu sync.RWMutex
	m  map[uint32]cachedAccount
}

type cachedAccount struct {
	pk    types.PubKey
	nonce uint32
}

// Account implements mempool.Accounts.
func (c *accountCache) Account(id uint32) (types.PubKey, uint32, error) {
	c.mu.RLock()
	a, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return a.pk, a.nonce, nil
	}
	st, release, err := c.db.View(c.db.Head())
	if err != nil {
		return types.PubKey{}, 0, err
	}
	defer release()
	acc, err := st.Account(id)
	if err != nil {
		return types.PubKey{}, 0, err
	}
	if acc.PubKey.IsZero() {
		return types.PubKey{}, 0, types.ErrAccountNotFound
	}
	return acc.PubKey, acc.Nonce, nil
}

// set copies an account from the open batch's state (loop only).
func (c *accountCache) set(st *state.State, id uint32) {
	acc, err := st.Account(id)
	if err != nil || acc.PubKey.IsZero() {
		return
	}
	c.mu.Lock()
	c.m[id] = cachedAccount{pk: acc.PubKey, nonce: acc.Nonce}
	c.mu.Unlock()
}

// refresh rereads an account from the soft state (loop only): after the
// open batch was discarded, its accounts go back to what the sealed
// batches left (an account the batch created is forgotten).
// A read error drops the account from the cache and is returned.
func (c *accountCache) refresh(st *state.State, id uint32) error {
	acc, err := st.Account(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || acc.PubKey.IsZero() {
		delete(c.m, id)
		return err
	}
	c.m[id] = cachedAccount{pk: acc.PubKey, nonce: acc.Nonce}
	return nil
}
