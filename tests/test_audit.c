/*
 * test_audit.c - the audit (`ltdrs verify`): the cuts of a canonical parse,
 * the spliced hashes against tx.c's
 * id and signing messages, the fall-back to the exact path, and ledgers
 * with a double spend or a wrongly signed spend written straight into the
 * store (behind the node's back) that the audit must name.
 *
 * Includes audit_tx.c to reach its static helpers (STYLE rule 23).
 */
#include "../src/audit_tx.c" // NOLINT(bugprone-suspicious-include): static helpers

#include "test.h"

#include "../src/codec.h"
#include "../src/node.h"
#include "../src/store.h"

#include <sqlite3.h>
#include <unistd.h>

static char dir[256];

struct key {
    struct ltd_pubkey pk;
    struct ltd_seed seed;
};

static void
key_new(struct key *k)
{
    codec_ed25519_keypair(&k->pk, &k->seed);
}

/* ------------------------------------------------ transactions in memory */

/* A signed CREATE with n_out outputs of 1 to owner; body in out. */
static void
make_create(struct arena *a, const struct key *k, const struct ltd_pubkey *owner, uint32_t n_out,
            const char *note, struct buf *out, struct tx *t)
{
    struct cjson *data = cjson_new_object(a);
    cjson_obj_set(a, data, "note", cjson_new_stringz(a, note));
    cjson_obj_set(a, data, "line", cjson_new_stringz(a, "tab\there \"quoted\" \\ done\n"));
    struct tx_new_output o[4];
    LTD_ASSERT(n_out <= 4);
    for (uint32_t i = 0; i < n_out; i++)
        o[i] = (struct tx_new_output){cc_details_ed25519(a, owner), 1};
    LTD_ASSERT(tx_build_create(a, &k->pk, 1, data, NULL, o, n_out, t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(a, t, &k->seed, NULL, false, NULL, NULL) == LTD_OK);
    tx_serialize(t, out);
}

/* A TRANSFER of outputs [0, n_in) of src (owned by `owner_claimed`, signed
 * by `signer`) to `to`. */
static void
make_transfer(struct arena *a, const struct tx *src, uint32_t n_in, const struct key *owner_claimed,
              const struct ltd_pubkey *to, struct buf *out, struct tx *t)
{
    struct tx_new_input in[4];
    const struct cc_details *spent[4];
    LTD_ASSERT(n_in <= 4);
    for (uint32_t i = 0; i < n_in; i++) {
        in[i] = (struct tx_new_input){src->id, i, cc_details_ed25519(a, &owner_claimed->pk)};
        spent[i] = in[i].details;
    }
    struct tx_new_output o = {cc_details_ed25519(a, to), n_in};
    LTD_ASSERT(tx_build_transfer(a, &src->asset_id, in, n_in, NULL, &o, 1, t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(a, t, &owner_claimed->seed, spent, false, NULL, NULL) == LTD_OK);
    tx_serialize(t, out);
}

/* tx_text_cuts + hash_tx_text + signing_messages agree with tx.c. */
static void
check_spliced(struct audit_txck *k, const struct buf *body)
{
    struct tx t;
    CHECK_EQ_INT(tx_parse(&k->a, body->p, body->len, 0, &t, NULL), LTD_OK);
    CHECK(t.text != NULL);
    struct tx_cut cut[5];
    LTD_ASSERT(t.n_in <= 4);
    CHECK(tx_text_cuts(&t, true, cut));
    struct ltd_hash id, want[4], got[4];
    hash_tx_text(k, t.text, t.text_len, cut, t.n_in, &id);
    CHECK_EQ_MEM(id.b, t.id.b, 32);
    tx_signing_messages(&t, want);
    signing_messages(k, &t, got);
    for (uint32_t i = 0; i < t.n_in; i++)
        CHECK_EQ_MEM(got[i].b, want[i].b, 32);
    txck_arena_rewind(k);
}

static void
test_spliced_hashes(void)
{
    struct arena a;
    arena_init(&a);
    struct key alice, bob;
    key_new(&alice);
    key_new(&bob);
    struct buf c, x;
    buf_init(&c);
    buf_init(&x);
    struct tx ct, xt;
    make_create(&a, &alice, &alice.pk, 3, "学习部 讲座", &c, &ct);
    make_transfer(&a, &ct, 3, &alice, &bob.pk, &x, &xt);
    struct audit_txck *k = audit_txck_new();
    check_spliced(k, &c);
    check_spliced(k, &x);
    /* not canonical (a space, or a key out of order): no match */
    struct buf nc;
    buf_init(&nc);
    buf_addc(&nc, '{');
    buf_addc(&nc, ' ');
    buf_add(&nc, c.p + 1, c.len - 1);
    struct tx nt;
    CHECK_EQ_INT(tx_parse(&k->a, nc.p, nc.len, 0, &nt, NULL), LTD_OK);
    CHECK(nt.text == NULL);
    struct tx_cut cut[5];
    CHECK(!tx_text_cuts(&nt, true, cut));
    /* ... but the audit still accepts it, through the exact path */
    struct store_cursor_tx row = {.seq = 7, .height = 3, .id = ct.id, .id_ok = true};
    row.body = nc.p;
    row.len = nc.len;
    struct audit_chunk ch;
    memset(&ch, 0, sizeof ch);
    struct audit_fail f = {.key = UINT64_MAX, .height = -1};
    pthread_mutex_init(&f.lock, NULL);
    audit_tx_check(k, &row, &ch, &f);
    CHECK_EQ_INT(ch.n_rec, 1);
    CHECK(ch.rec[0].parsed);
    CHECK(f.key == UINT64_MAX);
    /* a wrong id column: found, with the exact path's words */
    row.id.b[0] ^= 1;
    row.body = c.p;
    row.len = c.len;
    audit_tx_check(k, &row, &ch, &f);
    CHECK_EQ_INT(ch.n_rec, 2);
    CHECK(!ch.rec[1].parsed);
    CHECK(f.key == (7u << 3 | AUDIT_RANK_PARSE));
    CHECK(strstr(f.msg, "stored id differs") != NULL);
    pthread_mutex_destroy(&f.lock);
    free(ch.rec);
    free(ch.out);
    free(ch.in);
    audit_txck_free(k);
    buf_release(&nc);
    buf_release(&x);
    buf_release(&c);
    arena_release(&a);
}

/* ----------------------------------------------------- ledgers on disk */

/* A fresh data directory holding only the genesis block. */
static void
ledger_new(struct node_genesis *g)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    LTD_ASSERT(system(cmd) == 0);
    struct key admin;
    key_new(&admin);
    LTD_ASSERT(node_init(dir, &admin.pk, g, NULL) == LTD_OK);
}

/* The latest block row, read with plain SQL. */
static void
head_row(sqlite3 *db, struct store_block *b)
{
    sqlite3_stmt *s = NULL;
    LTD_ASSERT(sqlite3_prepare_v2(db,
                                  "SELECT height, time_ms, hash FROM block ORDER BY height DESC "
                                  "LIMIT 1",
                                  -1, &s, NULL) == SQLITE_OK);
    LTD_ASSERT(sqlite3_step(s) == SQLITE_ROW);
    memset(b, 0, sizeof *b);
    b->height = (uint64_t)sqlite3_column_int64(s, 0);
    b->time_ms = (uint64_t)sqlite3_column_int64(s, 1);
    LTD_ASSERT(sqlite3_column_bytes(s, 2) == 32);
    memcpy(b->hash.b, sqlite3_column_blob(s, 2), 32);
    sqlite3_finalize(s);
}

/* Appends one block holding `body` with plain SQL, behind the node's back
 * (the store itself refuses to record a bad spend), with a correct hash
 * chain: only the audit's ledger checks can find what is wrong. */
static void
append_block(const struct node_genesis *g, const struct buf *body)
{
    char path[300];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *db = NULL;
    LTD_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
    struct store_block head, b;
    head_row(db, &head);
    struct arena a;
    arena_init(&a);
    struct tx t;
    LTD_ASSERT(tx_parse(&a, body->p, body->len, 0, &t, NULL) == LTD_OK);
    sqlite3_stmt *s = NULL;
    LTD_ASSERT(sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(seq), 0) FROM tx", -1, &s, NULL) ==
               SQLITE_OK);
    LTD_ASSERT(sqlite3_step(s) == SQLITE_ROW);
    memset(&b, 0, sizeof b);
    b.first_seq = (uint64_t)sqlite3_column_int64(s, 0) + 1;
    sqlite3_finalize(s);
    b.height = head.height + 1;
    b.time_ms = head.time_ms + 1;
    b.prev_hash = head.hash;
    b.n_tx = 1;
    codec_sha3_256(&b.txs_hash, t.id_hex, 64);
    store_block_hash(g->chain_id, &b, &b.hash);
    LTD_ASSERT(sqlite3_prepare_v2(db,
                                  "INSERT INTO tx(seq, idk, id, height, op, asset_seq, body) "
                                  "VALUES (?1, 0, ?2, ?3, ?4, 0, ?5)",
                                  -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, (int64_t)b.first_seq);
    sqlite3_bind_blob(s, 2, t.id.b, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)b.height);
    sqlite3_bind_int(s, 4, (int)t.op);
    sqlite3_bind_blob(s, 5, body->p, (int)body->len, SQLITE_STATIC);
    LTD_ASSERT(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_finalize(s);
    LTD_ASSERT(sqlite3_prepare_v2(db,
                                  "INSERT INTO block(height, time_ms, n_tx, first_seq, prev_hash, "
                                  "txs_hash, hash) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)",
                                  -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, (int64_t)b.height);
    sqlite3_bind_int64(s, 2, (int64_t)b.time_ms);
    sqlite3_bind_int64(s, 3, (int64_t)b.first_seq);
    sqlite3_bind_blob(s, 4, b.prev_hash.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 5, b.txs_hash.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, b.hash.b, 32, SQLITE_STATIC);
    LTD_ASSERT(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_finalize(s);
    arena_release(&a);
    sqlite3_close(db);
}

static void
verify(struct node_verify_report *rep)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(node_verify_dir(dir, 2, rep, &eb), LTD_OK);
}

static void
test_ledger_spends(void)
{
    struct arena a;
    arena_init(&a);
    struct key alice, bob, carol, mallory;
    key_new(&alice);
    key_new(&bob);
    key_new(&carol);
    key_new(&mallory);
    struct buf c, t1, t2, t3, t4;
    buf_init(&c);
    buf_init(&t1);
    buf_init(&t2);
    buf_init(&t3);
    buf_init(&t4);
    struct tx ct, x1, x2, x3, x4;
    make_create(&a, &alice, &alice.pk, 2, "two tickets", &c, &ct);
    make_transfer(&a, &ct, 1, &alice, &bob.pk, &t1, &x1);
    make_transfer(&a, &ct, 1, &alice, &carol.pk, &t2, &x2);     /* output 0 again */
    make_transfer(&a, &ct, 2, &mallory, &mallory.pk, &t3, &x3); /* signed by a stranger */
    make_transfer(&a, &x1, 1, &bob, &carol.pk, &t4, &x4);
    struct node_genesis g;
    struct node_verify_report rep;

    /* a valid ledger: create, transfer, transfer of the transfer */
    ledger_new(&g);
    append_block(&g, &c);
    append_block(&g, &t1);
    append_block(&g, &t4);
    verify(&rep);
    CHECK(rep.ok);
    CHECK_EQ_INT(rep.txs, 3);

    /* the same output spent twice */
    append_block(&g, &t2);
    verify(&rep);
    CHECK(!rep.ok);
    CHECK_EQ_INT(rep.bad_height, 4);
    CHECK_EQ_STR(rep.bad_txid, x2.id_hex);
    CHECK(strstr(rep.message, "double spend") != NULL);

    /* a spend signed by someone who does not own the outputs */
    ledger_new(&g);
    append_block(&g, &c);
    append_block(&g, &t3);
    verify(&rep);
    CHECK(!rep.ok);
    CHECK_EQ_INT(rep.bad_height, 2);
    CHECK_EQ_STR(rep.bad_txid, x3.id_hex);
    CHECK(strstr(rep.message, "signature") != NULL);

    /* a spend of an output that does not exist yet (created later) */
    ledger_new(&g);
    append_block(&g, &t1);
    append_block(&g, &c);
    verify(&rep);
    CHECK(!rep.ok);
    CHECK_EQ_INT(rep.bad_height, 1);
    CHECK(strstr(rep.message, "missing output") != NULL);

    buf_release(&t4);
    buf_release(&t3);
    buf_release(&t2);
    buf_release(&t1);
    buf_release(&c);
    arena_release(&a);
}

int
main(void)
{
    codec_init();
    snprintf(dir, sizeof dir, "/tmp/ltdrs-test-audit-%d", (int)getpid());
    RUN(test_spliced_hashes);
    RUN(test_ledger_spends);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    return test_report("audit");
}
