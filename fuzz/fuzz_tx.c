/*
 * fuzz_tx.c - libFuzzer target for the transaction parser (tx_parse and the
 * stateless checks after it).  Properties, not just "no crash":
 *   - an accepted transaction re-serializes to canonical text that parses
 *     again to the same id and the same operation, inputs and outputs;
 *   - tx_verify_create / tx_check_strict never crash on what tx_parse
 *     accepted, and their answers are stable when asked twice;
 *   - the id is the SHA3 of the canonical text with "id": null.
 */
#include "../src/codec.h"
#include "../src/tx.h"

#include <stdlib.h>
#include <string.h>

static void
must(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        codec_init();
        ready = 1;
    }
    struct arena a;
    arena_init(&a);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = tx_parse(&a, (const char *)data, size, 0, &t, &eb);
    if (e == LTD_OK) {
        must(t.has_id);
        must(t.n_in >= 1);
        struct buf canon;
        buf_init(&canon);
        tx_serialize(&t, &canon);
        struct tx back;
        must(tx_parse(&a, canon.p, canon.len, 0, &back, NULL) == LTD_OK);
        must(memcmp(back.id.b, t.id.b, 32) == 0);
        must(back.op == t.op && back.n_in == t.n_in && back.n_out == t.n_out);
        struct ltd_hash id;
        tx_compute_id(&t, &id);
        must(memcmp(id.b, t.id.b, 32) == 0);
        if (t.op == TX_CREATE) {
            enum ltd_err v1 = tx_verify_create(&t, NULL), v2 = tx_verify_create(&back, NULL);
            must(v1 == v2);
        }
        enum ltd_err s1 = tx_check_strict(&t, NULL), s2 = tx_check_strict(&back, NULL);
        must(s1 == s2);
        buf_release(&canon);
    } else {
        must(eb.code == e);
        must(eb.msg[0] != 0 || e == LTD_E_TX_THRESHOLD_DEEP);
    }
    arena_release(&a);
    return 0;
}
