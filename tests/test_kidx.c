/*
 * test_kidx.c - the in-memory key index: lists per key in insertion
 * order, shared keys, growth across rehashes, truncation back to a mark
 * (the rollback of an open block), and the misuse the asserts refuse.
 */
#include "test.h"

#include "../src/kidx.h"
#include "../src/ltd.h"

#include <stdint.h>

static void
test_empty(void)
{
    struct kidx m;
    kidx_init(&m);
    uint64_t v[4];
    CHECK_EQ_INT(kidx_get(&m, 0, v, 4), 0);
    CHECK_EQ_INT(kidx_get(&m, 42, v, 4), 0);
    CHECK_EQ_INT(kidx_mark(&m), 0);
    kidx_truncate(&m, 0); /* nothing to remove */
    CHECK_EQ_INT(kidx_bytes(&m), 0);
    kidx_release(&m);
}

static void
test_lists(void)
{
    struct kidx m;
    kidx_init(&m);
    kidx_add(&m, 7, 100);
    kidx_add(&m, 0, 5); /* key 0 is a key like any other */
    kidx_add(&m, 7, 101);
    kidx_add(&m, 7, 102);
    uint64_t v[8] = {0};
    CHECK_EQ_INT(kidx_get(&m, 7, v, 8), 3);
    CHECK_EQ_INT(v[0], 102); /* newest first */
    CHECK_EQ_INT(v[1], 101);
    CHECK_EQ_INT(v[2], 100);
    CHECK_EQ_INT(kidx_get(&m, 0, v, 8), 1);
    CHECK_EQ_INT(v[0], 5);
    CHECK_EQ_INT(kidx_get(&m, 8, v, 8), 0);
    /* a short buffer gets the newest values and the full count */
    uint64_t one[1] = {0};
    CHECK_EQ_INT(kidx_get(&m, 7, one, 1), 3);
    CHECK_EQ_INT(one[0], 102);
    CHECK_EQ_INT(kidx_get(&m, 7, NULL, 0), 3);
    kidx_release(&m);
}

/* Keys that collide in the table (same low hash bits after growth) and a
 * million values across many rehashes keep every list intact. */
static void
test_growth(void)
{
    struct kidx m;
    kidx_init(&m);
    enum { n = 300000 };
    for (uint64_t i = 0; i < n; i++)
        kidx_add(&m, i * UINT64_C(0x9e3779b97f4a7c15), i + 1);
    for (uint64_t i = 0; i < n; i += 7)
        kidx_add(&m, i * UINT64_C(0x9e3779b97f4a7c15), n + i + 1);
    int bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v[2] = {0, 0};
        size_t k = kidx_get(&m, i * UINT64_C(0x9e3779b97f4a7c15), v, 2);
        if (i % 7 == 0)
            bad += k != 2 || v[0] != n + i + 1 || v[1] != i + 1;
        else
            bad += k != 1 || v[0] != i + 1;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(kidx_bytes(&m) >= (size_t)n * 16);
    kidx_release(&m);
}

static void
test_truncate(void)
{
    struct kidx m;
    kidx_init(&m);
    kidx_add(&m, 1, 10);
    kidx_add(&m, 2, 20);
    uint32_t mark = kidx_mark(&m);
    CHECK_EQ_INT(mark, 2);
    kidx_add(&m, 1, 11);
    kidx_add(&m, 3, 30);
    for (uint64_t i = 100; i < 5000; i++) /* forces a rehash after the mark */
        kidx_add(&m, i, i);
    kidx_truncate(&m, mark);
    uint64_t v[4] = {0};
    CHECK_EQ_INT(kidx_get(&m, 1, v, 4), 1);
    CHECK_EQ_INT(v[0], 10);
    CHECK_EQ_INT(kidx_get(&m, 2, v, 4), 1);
    CHECK_EQ_INT(kidx_get(&m, 3, v, 4), 0); /* its only value was removed */
    CHECK_EQ_INT(kidx_get(&m, 4000, v, 4), 0);
    CHECK_EQ_INT(kidx_mark(&m), 2);
    /* adding again after a truncate reuses the emptied keys */
    kidx_add(&m, 3, 31);
    CHECK_EQ_INT(kidx_get(&m, 3, v, 4), 1);
    CHECK_EQ_INT(v[0], 31);
    kidx_truncate(&m, 0);
    CHECK_EQ_INT(kidx_get(&m, 1, v, 4), 0);
    CHECK_EQ_INT(kidx_get(&m, 2, v, 4), 0);
    kidx_release(&m);
}

int
main(void)
{
    RUN(test_empty);
    RUN(test_lists);
    RUN(test_growth);
    RUN(test_truncate);
    return test_report("kidx");
}
