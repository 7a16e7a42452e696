/*
 * store_ltdrs.h - the LTDRS domain state kept beside the ledger in SQLite:
 * the lookups the rules need (struct ltdrs_view over the store) and the
 * updates a valid record makes, run inside the block's transaction.
 */
#ifndef LTD_STORE_LTDRS_H
#define LTD_STORE_LTDRS_H

#include "ltdrs.h"
#include "store.h"

/* Fills v with lookups over st (through the writer inside the applier's
 * block, else a reader: committed state). */
void store_ltdrs_view(struct store *st, const struct ltd_pubkey *admin, bool open_registration,
                      struct ltdrs_view *v);

/* Records the consequences of the valid transaction t (stored as seq) in the
 * domain tables.  Applier thread, inside the open block only. */
LTD_MUST_CHECK enum ltd_err store_ltdrs_apply(struct store *st, const struct tx *t, uint64_t seq,
                                              struct ltd_errbuf *eb);

#endif
