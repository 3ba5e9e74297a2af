package state

// RewriteHeaderForTest commits a new store version in which batch h.Number's
// stored header is h: a corrupted store, for the tests of the code that
// must notice one (the pipeline's re-execution check). Never used outside
// tests.
func RewriteHeaderForTest(db *DB, h *Header) error {
	txn, err := db.store.Begin()
	if err != nil {
		return err
	}
	if err := txn.Set(batchKey(keyHeader, h.Number), h.Encode()); err != nil {
		txn.Discard()
		return err
	}
	return txn.Commit()
}
