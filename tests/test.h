/*
 * test.h - the tiny test runner (STYLE rule 23): CHECK macros that count
 * passes and failures, and a closing line "N passed, M failed".  A test
 * file defines its cases as functions and lists them in main via RUN().
 */
#ifndef LTD_TEST_H
#define LTD_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int test_pass, test_fail;
static const char *test_current = "";

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (c) {                                                                                   \
            test_pass++;                                                                           \
        } else {                                                                                   \
            test_fail++;                                                                           \
            fprintf(stderr, "FAIL %s:%d [%s] %s\n", __FILE__, __LINE__, test_current, #c);         \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ == vb_) {                                                                          \
            test_pass++;                                                                           \
        } else {                                                                                   \
            test_fail++;                                                                           \
            fprintf(stderr, "FAIL %s:%d [%s] %s == %s (%lld != %lld)\n", __FILE__, __LINE__,       \
                    test_current, #a, #b, va_, vb_);                                               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                                                 \
            test_pass++;                                                                           \
        } else {                                                                                   \
            test_fail++;                                                                           \
            fprintf(stderr, "FAIL %s:%d [%s] %s == %s\n  got:  %s\n  want: %s\n", __FILE__,        \
                    __LINE__, test_current, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_MEM(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) == 0) {                                                          \
            test_pass++;                                                                           \
        } else {                                                                                   \
            test_fail++;                                                                           \
            fprintf(stderr, "FAIL %s:%d [%s] memory %s == %s\n", __FILE__, __LINE__, test_current, \
                    #a, #b);                                                                       \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        test_current = #fn;                                                                        \
        fn();                                                                                      \
    } while (0)

/* Prints the closing line and returns the process exit code. */
static inline int
test_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_pass, test_fail);
    return test_fail ? 1 : 0;
}

#endif
