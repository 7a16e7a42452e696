/*
 * rules.c - BigchainDB's stateful validation steps over a rules_view.
 */
#include "rules.h"

#include "ltdrs.h"

#include <stdlib.h>
#include <string.h>

static enum ltd_err
check_create(const struct rules_view *v, const struct tx *t, unsigned flags, struct ltd_errbuf *eb)
{
    bool exists = false;
    enum ltd_err e = v->tx_exists(v->ctx, &t->id, &exists, eb);
    if (e)
        return e;
    if (exists)
        return ltd_fail(eb, LTD_E_DUPLICATE_TX, "transaction `%s` already exists", t->id_hex);
    if (flags & RULES_SIGS_VERIFIED)
        return LTD_OK;
    return tx_verify_create(t, eb);
}

/* Steps 8T-14T. */
static enum ltd_err
check_transfer(const struct rules_view *v, struct arena *a, const struct tx *t, unsigned flags,
               struct ltd_errbuf *eb)
{
    struct rules_output *outs = arena_alloc(a, sizeof *outs * t->n_in);
    unsigned __int128 in_sum = 0;
    enum ltd_err e;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        LTD_ASSERT(in->has_fulfills);
        if ((e = v->output(v->ctx, a, &in->fulfills_txid, in->fulfills_index, &outs[i], eb)))
            return e;
        if (outs[i].spent)
            return ltd_fail(eb, LTD_E_DOUBLE_SPEND, "input `%s` was already spent",
                            in->fulfills_txid_hex);
        in_sum += outs[i].amount;
    }
    for (uint32_t i = 0; i < t->n_in; i++)
        for (uint32_t j = 0; j < i; j++)
            if (t->in[i].fulfills_index == t->in[j].fulfills_index &&
                memcmp(t->in[i].fulfills_txid.b, t->in[j].fulfills_txid.b, 32) == 0)
                return ltd_fail(eb, LTD_E_TX_DUP_INPUT, "tx \"%s\" spends inputs twice", t->id_hex);
    for (uint32_t i = 1; i < t->n_in; i++)
        if (memcmp(outs[i].asset_id.b, outs[0].asset_id.b, 32) != 0)
            return ltd_fail(eb, LTD_E_ASSET_MISMATCH,
                            "All inputs of all transactions passed need to have the same asset "
                            "id");
    if (memcmp(outs[0].asset_id.b, t->asset_id.b, 32) != 0)
        return ltd_fail(eb, LTD_E_ASSET_MISMATCH,
                        "The asset id of the input does not match the asset id of the "
                        "transaction");
    if (in_sum != t->out_sum) {
        char a1[48], a2[48];
        /* both sums are below 2^64 * tx_outputs_max; print as decimal */
        unsigned __int128 x = in_sum, y = t->out_sum;
        int n1 = 0, n2 = 0;
        char r1[48], r2[48];
        do {
            r1[n1++] = (char)('0' + (int)(x % 10));
            x /= 10;
        } while (x && n1 < 47);
        do {
            r2[n2++] = (char)('0' + (int)(y % 10));
            y /= 10;
        } while (y && n2 < 47);
        for (int k = 0; k < n1; k++)
            a1[k] = r1[n1 - 1 - k];
        for (int k = 0; k < n2; k++)
            a2[k] = r2[n2 - 1 - k];
        a1[n1] = 0;
        a2[n2] = 0;
        return ltd_fail(eb, LTD_E_AMOUNT_MISMATCH,
                        "The amount used in the inputs `%s` needs to be same as the amount used "
                        "in the outputs `%s`",
                        a1, a2);
    }
    if (flags & RULES_SIGS_VERIFIED)
        return LTD_OK;
    struct ltd_hash *msgs = arena_alloc(a, sizeof *msgs * t->n_in);
    tx_signing_messages(t, msgs);
    for (uint32_t i = 0; i < t->n_in; i++)
        if ((e = tx_verify_input(t, i, outs[i].details, &msgs[i], eb)))
            return e;
    return LTD_OK;
}

enum ltd_err
rules_check(const struct rules_view *v, struct arena *a, const struct tx *t, unsigned flags,
            struct ltd_errbuf *eb)
{
    LTD_ASSERT(t->has_id);
    LTD_ASSERT(t->op == TX_CREATE || t->op == TX_TRANSFER);
    enum ltd_err e =
        t->op == TX_CREATE ? check_create(v, t, flags, eb) : check_transfer(v, a, t, flags, eb);
    if (e)
        return e;
    if ((e = tx_check_strict(t, eb)))
        return e;
    if (v->domain) {
        struct ltdrs_record r;
        return ltdrs_check(v->domain, t, &r, eb);
    }
    return LTD_OK;
}
