/*
 * cjson.c - the strict JSON reader, the canonical writer, Python-repr float
 * formatting, lookups and builders declared in cjson.h.
 *
 * The reader is a single-pass, non-recursive state machine: an explicit
 * frame stack (one frame per open array/object, bounded by depth_max) and
 * one shared scratch stack of finished children.  When a container closes,
 * its children are copied exactly into the arena (objects after sorting by
 * key bytes, which also exposes duplicates as equal neighbours) and popped.
 * Both stacks start on the C stack and move to the heap only for large
 * documents, so a typical transaction costs no malloc beyond the arena.
 * Strings are scanned eight bytes at a time for the bytes that need
 * attention (quote, backslash, control, non-ASCII); strings without escapes
 * are copied with one memcpy.
 *
 * Floats are formatted at parse time (Python repr: shortest round-trip
 * digits, taken straight from a literal of at most 15 significant digits,
 * otherwise searched with printf/strtod, which assumes LC_NUMERIC "C"), so
 * the writer only copies text.  Checked against Python 3 repr() on 1.4
 * million doubles (random bit patterns, all powers of two, subnormals,
 * nearest neighbours of short decimals) and 400,000 random literals.
 *
 * Deliberately not here: any knowledge of transactions, and any lenient
 * mode.  The writer and cjson_clone recurse over the tree; trees from the
 * reader are at most depth_max deep.
 */
#include "cjson.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cjson_limits cjson_limits_default = {
    .bytes_max = json_bytes_max,
    .depth_max = json_depth_max,
    .string_bytes_max = json_string_bytes_max,
    .members_max = json_members_max,
};

struct cjson cjson_null_value = {.type = CJSON_NULL};

enum {
    cj_frames_inline_max = 32,  /* frames kept on the C stack before going to the heap */
    cj_slots_inline_max = 128,  /* children kept on the C stack before going to the heap */
    cj_number_inline_max = 64,  /* number literal bytes copied to a local buffer for strtod */
    cj_repr_bytes_max = 32,     /* longest repr: "-1.2345678901234567e-308" is 24 */
    cj_dupkey_shown_max = 64,   /* key bytes quoted in a duplicate-key message */
    cj_sort_insertion_max = 16, /* below this, insertion sort beats qsort */
    cj_literal_digits_max = 15, /* DBL_DIG: such literals print back unchanged */
};

/* A finished child waiting for its container to close.  pos is the byte
 * offset of its key (objects) so duplicate messages can point at it. */
struct cj_slot {
    const char *key;   /* arena copy, NULL for array items */
    uint32_t klen;     /* key bytes */
    struct cjson *val; /* the finished child */
    size_t pos;        /* byte offset of the key */
};

/* One open container.  key/klen/kpos hold the key whose value is being
 * parsed (objects only). */
struct cj_frame {
    struct cjson *node; /* the container, filled in when it closes */
    const char *key;    /* pending key (objects) */
    size_t kpos;        /* its byte offset */
    uint32_t base;      /* index of its first child in the slot stack */
    uint32_t klen;      /* bytes of key */
};

struct cj_parser {
    const unsigned char *p;         /* the document (borrowed) */
    size_t len;                     /* its bytes */
    size_t i;                       /* current byte offset */
    struct arena *a;                /* where the tree goes */
    const struct cjson_limits *lim; /* never NULL */
    struct ltd_errbuf *eb;          /* may be NULL */
    struct cj_frame *frames;        /* open containers, innermost last */
    uint32_t nframes, frames_cap;   /* used and allocated frames */
    struct cj_slot *slots;          /* finished children of the open containers */
    uint32_t nslots, slots_cap;     /* used and allocated slots */
    bool frames_heap, slots_heap;   /* the stacks left the C stack (free them) */
    bool canon;                     /* so far the text is cjson_canonical's */
};

/* Byte classes inside a string: 0 plain, 1 quote, 2 backslash, 3 control,
 * 4 non-ASCII (must be validated as UTF-8). */
#define CJ_R4(x) x, x, x, x
#define CJ_R16(x) CJ_R4(x), CJ_R4(x), CJ_R4(x), CJ_R4(x)
/* clang-format off */
static const uint8_t cj_str_class[256] = {
    CJ_R16(3), CJ_R16(3),                           /* 0x00-0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2f: '"' */
    CJ_R16(0), CJ_R16(0),                           /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, /* 0x50-0x5f: '\\' */
    CJ_R16(0), CJ_R16(0),                           /* 0x60-0x7f */
    CJ_R16(4), CJ_R16(4), CJ_R16(4), CJ_R16(4),     /* 0x80-0xbf */
    CJ_R16(4), CJ_R16(4), CJ_R16(4), CJ_R16(4),     /* 0xc0-0xff */
};

/* Writer escapes: 0 raw, 'u' for \u00XX, else the letter after '\'. */
static const char cj_esc[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u', /* 0x00 */
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', /* 0x10 */
    0,   0,   '"',                                                                  /* 0x20 */
    [0x5c] = '\\',
};
/* clang-format on */
#undef CJ_R4
#undef CJ_R16

/* ------------------------------------------------------------------------ */
/* parser: errors and small helpers                                         */

static const char *
cj_char_name(unsigned char c, char tmp[8])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(tmp, 8, "'%c'", c);
    else
        snprintf(tmp, 8, "0x%02x", c);
    return tmp;
}

static enum ltd_err
cj_unexpected(struct cj_parser *ps, const char *wanted)
{
    char tmp[8];
    if (ps->i >= ps->len)
        return ltd_fail(ps->eb, LTD_E_JSON_SYNTAX, "at byte %zu: unexpected end of input, %s",
                        ps->i, wanted);
    return ltd_fail(ps->eb, LTD_E_JSON_SYNTAX, "at byte %zu: unexpected %s, %s", ps->i,
                    cj_char_name(ps->p[ps->i], tmp), wanted);
}

static inline void
cj_skip_ws(struct cj_parser *ps)
{
    const unsigned char *p = ps->p;
    size_t i = ps->i, n = ps->len;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i != ps->i)
        ps->canon = false; /* the canonical form has no whitespace */
    ps->i = i;
}

static struct cjson *
cj_node(struct arena *a, enum cjson_type t)
{
    struct cjson *v = arena_alloc(a, sizeof *v); /* zeroed */
    v->type = t;
    return v;
}

/* Grows a stack that may still live in caller-provided inline storage. */
static void *
cj_grow(void *p, uint32_t *cap, size_t elem, bool *heap)
{
    LTD_ASSERT(*cap > 0);
    LTD_ASSERT(*cap <= UINT32_MAX / 2);
    uint32_t ncap = *cap * 2;
    void *q;
    if (*heap) {
        q = xrealloc(p, (size_t)ncap * elem);
    } else {
        q = xmalloc((size_t)ncap * elem);
        memcpy(q, p, (size_t)*cap * elem);
        *heap = true;
    }
    *cap = ncap;
    return q;
}

/* ------------------------------------------------------------------------ */
/* parser: strings                                                          */

/* Validates one UTF-8 sequence at p[i] (a byte >= 0x80); returns its length
 * or 0 when it is invalid (overlong, surrogate, > U+10FFFF, truncated). */
static size_t
cj_utf8_seq(const unsigned char *p, size_t i, size_t n)
{
    unsigned c = p[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5-FF */
    }
    if (need >= n - i)
        return 0; /* truncated */
    if (p[i + 1] < lo || p[i + 1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((p[i + k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

/* True when any of the eight bytes in x is '"', '\\', < 0x20 or >= 0x80. */
static inline bool
cj_swar_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t hasq = (q - ones) & ~q, hasb = (b - ones) & ~b;
    uint64_t ctl = x - ones * 0x20;
    return ((hasq | hasb | ctl | x) & high) != 0;
}

/* Scans the string whose opening quote is at ps->i.  On success *end is
 * the offset of the closing quote and *escaped tells whether a backslash
 * occurs.  UTF-8 and control characters are checked here; escapes later. */
static enum ltd_err
cj_string_scan(struct cj_parser *ps, size_t *end, bool *escaped)
{
    const unsigned char *p = ps->p;
    size_t n = ps->len, j = ps->i + 1;
    bool esc = false;
    for (;;) {
        while (j + 8 <= n) {
            uint64_t x;
            memcpy(&x, p + j, 8);
            if (cj_swar_special(x))
                break;
            j += 8;
        }
        while (j < n && cj_str_class[p[j]] == 0)
            j++;
        if (j >= n)
            return ltd_fail(ps->eb, LTD_E_JSON_SYNTAX,
                            "at byte %zu: unterminated string (opened at byte %zu)", j, ps->i);
        switch (cj_str_class[p[j]]) {
        case 1:
            *end = j;
            *escaped = esc;
            return LTD_OK;
        case 2:
            esc = true;
            j += 2; /* the escaped byte is checked when decoding */
            break;
        case 3:
            return ltd_fail(ps->eb, LTD_E_JSON_CONTROL,
                            "at byte %zu: raw control character 0x%02x in string", j, p[j]);
        default: {
            size_t k = cj_utf8_seq(p, j, n);
            if (k == 0)
                return ltd_fail(ps->eb, LTD_E_JSON_UTF8,
                                "at byte %zu: invalid UTF-8 sequence starting 0x%02x", j, p[j]);
            j += k;
        }
        }
    }
}

/* The byte a two-character escape stands for, or 0 for none. */
static char
cj_simple_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '/':
        return '/';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

static int
cj_hex4(const unsigned char *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = p[k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t
cj_put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    LTD_ASSERT(cp <= 0x10ffff);
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the \u escape at p[j] ('\\' at j, 'u' at j+1; the string ends
 * at end).  Writes UTF-8 to o, sets *olen and returns the input consumed. */
static enum ltd_err
cj_unicode_escape(struct cj_parser *ps, size_t j, size_t end, char *o, size_t *olen, size_t *used)
{
    const unsigned char *p = ps->p;
    int hi = j + 6 <= end ? cj_hex4(p + j + 2) : -1;
    if (hi < 0)
        return ltd_fail(ps->eb, LTD_E_JSON_SYNTAX, "at byte %zu: \\u needs four hex digits", j);
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return ltd_fail(ps->eb, LTD_E_JSON_SURROGATE,
                        "at byte %zu: low surrogate \\u%04x without a high one", j, hi);
    if (hi < 0xd800 || hi > 0xdbff) {
        *olen = cj_put_utf8(o, (uint32_t)hi);
        *used = 6;
        return LTD_OK;
    }
    int lo = -1;
    if (j + 12 <= end && p[j + 6] == '\\' && p[j + 7] == 'u')
        lo = cj_hex4(p + j + 8);
    if (lo < 0xdc00 || lo > 0xdfff)
        return ltd_fail(ps->eb, LTD_E_JSON_SURROGATE,
                        "at byte %zu: high surrogate \\u%04x not followed by a low one", j, hi);
    uint32_t cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    *olen = cj_put_utf8(o, cp);
    *used = 12;
    return LTD_OK;
}

/* True when the \\u escape at p (used bytes) is the one cj_write_string
 * writes: "\\u00XX" with uppercase hex, for a control character that has
 * no two-character escape. */
static bool
cj_canonical_u(const unsigned char *p, size_t used)
{
    static const char hex[] = "0123456789ABCDEF";
    if (used != 6 || p[2] != '0' || p[3] != '0')
        return false;
    int c = cj_hex4(p + 2);
    return c >= 0 && c < 0x20 && cj_esc[c] == 'u' && p[4] == (unsigned char)hex[c >> 4] &&
           p[5] == (unsigned char)hex[c & 15];
}

/* Unescapes p(start, end) into o (which has room for end - start bytes, the
 * unescaped form is never longer); returns the bytes written in *olen. */
static enum ltd_err
cj_string_unescape(struct cj_parser *ps, size_t start, size_t end, char *o, size_t *olen)
{
    const unsigned char *p = ps->p;
    size_t j = start, w = 0;
    while (j < end) { /* every round consumes at least one byte */
        const unsigned char *bs = memchr(p + j, '\\', end - j);
        size_t run = bs ? (size_t)(bs - (p + j)) : end - j;
        memcpy(o + w, p + j, run);
        w += run;
        j += run;
        if (j >= end)
            break;
        LTD_ASSERT(j + 1 < end); /* the scan never lets '\\' end a string */
        char simple = cj_simple_escape(p[j + 1]);
        if (simple != 0) {
            if (cj_esc[(unsigned char)simple] != (char)p[j + 1])
                ps->canon = false; /* "\/": the writer leaves '/' alone */
            o[w++] = simple;
            j += 2;
        } else if (p[j + 1] == 'u') {
            size_t ow = 0, used = 0;
            enum ltd_err e = cj_unicode_escape(ps, j, end, o + w, &ow, &used);
            if (e != LTD_OK)
                return e;
            if (ps->canon && !cj_canonical_u(p + j, used))
                ps->canon = false;
            w += ow;
            j += used;
        } else {
            char tmp[8];
            return ltd_fail(ps->eb, LTD_E_JSON_SYNTAX, "at byte %zu: invalid escape \\%s", j,
                            cj_char_name(p[j + 1], tmp));
        }
    }
    *olen = w;
    return LTD_OK;
}

static enum ltd_err
cj_string_long(struct cj_parser *ps, size_t at, size_t n)
{
    return ltd_fail(ps->eb, LTD_E_JSON_STRING_LONG,
                    "at byte %zu: string of %zu bytes exceeds the limit of %zu", at, n,
                    ps->lim->string_bytes_max);
}

/* Parses the string whose quote is at ps->i into arena memory. */
static enum ltd_err
cj_string(struct cj_parser *ps, const char **out, uint32_t *outlen)
{
    size_t start = ps->i + 1, end = 0, n = 0;
    bool escaped = false;
    enum ltd_err e = cj_string_scan(ps, &end, &escaped);
    if (e != LTD_OK)
        return e;
    if (!escaped && end - start > ps->lim->string_bytes_max)
        return cj_string_long(ps, start - 1, end - start);
    char *s = arena_alloc(ps->a, end - start + 1);
    if (!escaped) {
        n = end - start;
        memcpy(s, ps->p + start, n);
    } else {
        e = cj_string_unescape(ps, start, end, s, &n);
        if (e != LTD_OK)
            return e;
        if (n > ps->lim->string_bytes_max)
            return cj_string_long(ps, start - 1, n);
    }
    s[n] = 0;
    LTD_ASSERT(n <= UINT32_MAX);
    *out = s;
    *outlen = (uint32_t)n;
    ps->i = end + 1;
    return LTD_OK;
}

/* ------------------------------------------------------------------------ */
/* parser: numbers and literals                                             */

static size_t
cj_digits(const unsigned char *p, size_t i, size_t n)
{
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    return i;
}

static enum ltd_err
cj_number_fail(struct cj_parser *ps, size_t at, const char *what)
{
    return ltd_fail(ps->eb, LTD_E_JSON_NUMBER, "at byte %zu: %s", at, what);
}

/* Checks the RFC 8259 number grammar at ps->i; sets *end and *is_float. */
static enum ltd_err
cj_number_scan(struct cj_parser *ps, size_t *end, bool *is_float)
{
    const unsigned char *p = ps->p;
    size_t n = ps->len, i = ps->i;
    if (p[i] == '-')
        i++;
    if (i >= n || p[i] < '0' || p[i] > '9')
        return cj_number_fail(ps, i, "expected a digit");
    if (p[i] == '0' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9')
        return cj_number_fail(ps, i, "leading zero in number");
    i = cj_digits(p, i, n);
    *is_float = false;
    if (i < n && p[i] == '.') {
        size_t k = cj_digits(p, i + 1, n);
        if (k == i + 1)
            return cj_number_fail(ps, k, "expected a digit after '.'");
        i = k;
        *is_float = true;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t k = cj_digits(p, i, n);
        if (k == i)
            return cj_number_fail(ps, k, "expected a digit in the exponent");
        i = k;
        *is_float = true;
    }
    *end = i;
    return LTD_OK;
}

static size_t cj_repr(double d, char out[cj_repr_bytes_max]);
static size_t cj_format(const char *dig, size_t nd, int e, bool neg, char out[cj_repr_bytes_max]);

/* strtod of the literal lit[0..n) (already checked against the grammar). */
static double
cj_strtod(struct arena *a, const char *lit, size_t n)
{
    char local[cj_number_inline_max];
    char *txt = n < sizeof local ? local : arena_alloc(a, n + 1);
    memcpy(txt, lit, n);
    txt[n] = 0;
    return strtod(txt, NULL);
}

/* The significant digits of a float literal (grammar already checked):
 * writes them to dig without trailing zeros, sets *nd and *exp10 (the
 * decimal exponent of the first one).  False when the literal is zero or
 * has more than cj_literal_digits_max significant digits. */
static bool
cj_literal_digits(const char *lit, size_t n, char dig[20], size_t *nd, int *exp10)
{
    size_t i = lit[0] == '-', k = 0, zeros = 0;
    long long idx = 0, point = -1, first = -1, ex = 0;
    for (; i < n && lit[i] != 'e' && lit[i] != 'E'; i++) {
        if (lit[i] == '.') {
            point = idx;
            continue;
        }
        idx++;
        if (lit[i] == '0') {
            zeros += first >= 0; /* kept only if a non-zero digit follows */
            continue;
        }
        if (first < 0)
            first = idx - 1;
        if (k + zeros + 1 > cj_literal_digits_max)
            return false;
        memset(dig + k, '0', zeros);
        k += zeros;
        zeros = 0;
        dig[k++] = lit[i];
    }
    if (first < 0)
        return false;
    if (point < 0)
        point = idx;
    if (i < n) { /* exponent: the grammar guarantees digits after 'e' */
        bool eneg = lit[++i] == '-';
        i += lit[i] == '-' || lit[i] == '+';
        for (; i < n; i++)
            if (ex < 100000000)
                ex = ex * 10 + (lit[i] - '0'); /* saturated values give 0 or inf */
        ex = eneg ? -ex : ex;
    }
    long long e = point - 1 - first + ex;
    if (e < -400 || e > 400)
        return false;
    dig[k] = 0;
    *nd = k;
    *exp10 = (int)e;
    return true;
}

static enum ltd_err
cj_number(struct cj_parser *ps, struct cjson **out)
{
    size_t start = ps->i, end = 0;
    bool is_float = false;
    enum ltd_err e = cj_number_scan(ps, &end, &is_float);
    if (e != LTD_OK)
        return e;
    size_t n = end - start;
    if (n > ps->lim->string_bytes_max)
        return cj_number_fail(ps, start, "number literal too long");
    const char *lit = (const char *)ps->p + start;
    struct cjson *v = cj_node(ps->a, is_float ? CJSON_FLOAT : CJSON_INT);
    v->at = (uint32_t)start;
    if (is_float) {
        v->num = cj_strtod(ps->a, lit, n);
        if (!isfinite(v->num))
            return cj_number_fail(ps, start, "number overflows a double");
        /* A normal double read from at most 15 significant digits prints
         * back as exactly those digits (DBL_DIG), so no search is needed. */
        char r[cj_repr_bytes_max], dig[20];
        size_t rn, nd;
        int e10;
        if (fabs(v->num) >= DBL_MIN && cj_literal_digits(lit, n, dig, &nd, &e10))
            rn = cj_format(dig, nd, e10, lit[0] == '-', r);
        else
            rn = cj_repr(v->num, r);
        v->str = arena_memdup(ps->a, r, rn);
        v->len = (uint32_t)rn;
        if (rn != n || memcmp(r, lit, n) != 0)
            ps->canon = false; /* written as repr() would */
    } else if (n <= 19) {      /* fits uint64: exact, and the cast rounds like strtod */
        bool neg = lit[0] == '-';
        uint64_t u = 0;
        for (size_t k = neg; k < n; k++)
            u = u * 10 + (uint64_t)(lit[k] - '0');
        v->num = neg ? -(double)u : (double)u;
        if (neg && u == 0) {
            lit++, n--; /* "-0" is "0" */
            ps->canon = false;
        }
        v->str = arena_memdup(ps->a, lit, n);
        v->len = (uint32_t)n;
    } else {
        v->str = arena_memdup(ps->a, lit, n);
        v->len = (uint32_t)n;
        v->num = strtod(v->str, NULL); /* +-HUGE_VAL beyond the double range */
    }
    ps->i = end;
    *out = v;
    return LTD_OK;
}

static bool
cj_match(const struct cj_parser *ps, const char *word, size_t n)
{
    return ps->len - ps->i >= n && memcmp(ps->p + ps->i, word, n) == 0;
}

/* Parses a scalar value at ps->i (a non-whitespace byte). */
static enum ltd_err
cj_scalar(struct cj_parser *ps, struct cjson **out)
{
    unsigned char c = ps->p[ps->i];
    size_t at = ps->i;
    if (c == '"') {
        struct cjson *v = cj_node(ps->a, CJSON_STRING);
        v->at = (uint32_t)at;
        enum ltd_err e = cj_string(ps, &v->str, &v->len);
        *out = v;
        return e;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return cj_number(ps, out);
    static const struct {
        const char *word;
        size_t n;
        enum cjson_type t;
    } lits[] = {{"true", 4, CJSON_TRUE}, {"false", 5, CJSON_FALSE}, {"null", 4, CJSON_NULL}};
    for (size_t k = 0; k < ARRAY_LEN(lits); k++) {
        if (cj_match(ps, lits[k].word, lits[k].n)) {
            *out = cj_node(ps->a, lits[k].t);
            (*out)->at = (uint32_t)at;
            ps->i += lits[k].n;
            return LTD_OK;
        }
    }
    if (c == '+' || c == '.' || cj_match(ps, "NaN", 3) || cj_match(ps, "Infinity", 8))
        return cj_number_fail(ps, ps->i, "not a JSON number (no '+', '.5', NaN or Infinity)");
    return cj_unexpected(ps, "expected a value");
}

/* ------------------------------------------------------------------------ */
/* parser: containers                                                       */

static int
cj_key_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int
cj_slot_cmp(const void *x, const void *y)
{
    const struct cj_slot *a = x, *b = y;
    return cj_key_cmp(a->key, a->klen, b->key, b->klen);
}

static void
cj_sort_slots(struct cj_slot *s, uint32_t n)
{
    if (n > cj_sort_insertion_max) {
        qsort(s, n, sizeof *s, cj_slot_cmp);
        return;
    }
    for (uint32_t i = 1; i < n; i++) { /* already sorted input costs n compares */
        struct cj_slot t = s[i];
        uint32_t j = i;
        while (j > 0 && cj_slot_cmp(&s[j - 1], &t) > 0) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = t;
    }
}

static enum ltd_err
cj_dup_key(struct cj_parser *ps, const struct cj_slot *a, const struct cj_slot *b)
{
    struct buf kb;
    buf_init(&kb);
    struct cjson k = {.type = CJSON_STRING, .str = a->key};
    k.len = a->klen < cj_dupkey_shown_max ? a->klen : cj_dupkey_shown_max;
    while (k.len < a->klen && k.len > 0 && ((unsigned char)a->key[k.len] & 0xc0) == 0x80)
        k.len--; /* cut before a UTF-8 continuation byte, not inside a character */
    cjson_canonical(&k, &kb);
    enum ltd_err e = ltd_fail(ps->eb, LTD_E_JSON_DUP_KEY, "at byte %zu: duplicate key %s%s",
                              a->pos > b->pos ? a->pos : b->pos, kb.p,
                              a->klen > cj_dupkey_shown_max ? " (truncated)" : "");
    buf_release(&kb);
    return e;
}

/* Pops the top frame: moves its children into the arena and returns the
 * finished node in *out. */
static enum ltd_err
cj_close(struct cj_parser *ps, struct cjson **out)
{
    LTD_ASSERT(ps->nframes > 0);
    struct cj_frame *f = &ps->frames[--ps->nframes];
    struct cjson *v = f->node;
    struct cj_slot *s = ps->slots + f->base;
    uint32_t n = ps->nslots - f->base;
    LTD_ASSERT(f->base <= ps->nslots);
    v->len = n;
    v->cap = n;
    ps->nslots = f->base;
    *out = v;
    if (n == 0)
        return LTD_OK;
    if (v->type == CJSON_ARRAY) {
        v->items = arena_alloc(ps->a, (size_t)n * sizeof(struct cjson *));
        for (uint32_t k = 0; k < n; k++)
            v->items[k] = s[k].val;
        return LTD_OK;
    }
    v->members = arena_alloc(ps->a, (size_t)n * sizeof *v->members);
    uint32_t asc = 1; /* the canonical order: strictly ascending, so no duplicates */
    while (asc < n && cj_slot_cmp(&s[asc - 1], &s[asc]) < 0)
        asc++;
    if (asc < n) {
        ps->canon = false;
        cj_sort_slots(s, n);
    }
    for (uint32_t k = 0; k < n; k++) {
        if (asc < n && k > 0 && cj_slot_cmp(&s[k - 1], &s[k]) == 0)
            return cj_dup_key(ps, &s[k - 1], &s[k]);
        v->members[k] = (struct cjson_member){s[k].key, s[k].klen, s[k].val};
    }
    return LTD_OK;
}

/* Parses `"key" :` at ps->i into the top frame. */
static enum ltd_err
cj_key(struct cj_parser *ps)
{
    struct cj_frame *f = &ps->frames[ps->nframes - 1];
    cj_skip_ws(ps);
    if (ps->i >= ps->len || ps->p[ps->i] != '"')
        return cj_unexpected(ps, "expected a string key");
    f->kpos = ps->i;
    enum ltd_err e = cj_string(ps, &f->key, &f->klen);
    if (e != LTD_OK)
        return e;
    cj_skip_ws(ps);
    if (ps->i >= ps->len || ps->p[ps->i] != ':')
        return cj_unexpected(ps, "expected ':'");
    ps->i++;
    return LTD_OK;
}

/* Opens the array/object at ps->i.  When it is empty, *out is the closed
 * node; otherwise *out is NULL and the parser is ready for the first value. */
static enum ltd_err
cj_open(struct cj_parser *ps, struct cjson **out)
{
    bool obj = ps->p[ps->i] == '{';
    if (ps->nframes >= ps->lim->depth_max)
        return ltd_fail(ps->eb, LTD_E_JSON_DEPTH, "at byte %zu: nesting deeper than %u", ps->i,
                        ps->lim->depth_max);
    if (ps->nframes == ps->frames_cap)
        ps->frames = cj_grow(ps->frames, &ps->frames_cap, sizeof *ps->frames, &ps->frames_heap);
    struct cj_frame *f = &ps->frames[ps->nframes++];
    f->node = cj_node(ps->a, obj ? CJSON_OBJECT : CJSON_ARRAY);
    f->node->at = (uint32_t)ps->i;
    f->base = ps->nslots;
    ps->i++;
    cj_skip_ws(ps);
    *out = NULL;
    if (ps->i < ps->len && ps->p[ps->i] == (obj ? '}' : ']')) {
        ps->i++;
        return cj_close(ps, out);
    }
    return obj ? cj_key(ps) : LTD_OK;
}

/* Adds finished value v to the top frame. */
static enum ltd_err
cj_push(struct cj_parser *ps, struct cjson *v)
{
    struct cj_frame *f = &ps->frames[ps->nframes - 1];
    if (ps->nslots - f->base >= ps->lim->members_max)
        return ltd_fail(ps->eb, LTD_E_JSON_MEMBERS, "at byte %zu: more than %u %s", ps->i,
                        ps->lim->members_max, f->node->type == CJSON_OBJECT ? "members" : "items");
    if (ps->nslots == ps->slots_cap)
        ps->slots = cj_grow(ps->slots, &ps->slots_cap, sizeof *ps->slots, &ps->slots_heap);
    ps->slots[ps->nslots++] = (struct cj_slot){f->key, f->klen, v, f->kpos};
    return LTD_OK;
}

/* Value v is complete: hands it to its container and consumes separators
 * and closing brackets.  *done is set when v completed the root. */
static enum ltd_err
cj_finish(struct cj_parser *ps, struct cjson *v, struct cjson **root, bool *done)
{
    for (;;) { /* every round closes a frame, so at most depth_max rounds */
        if (ps->nframes == 0) {
            *root = v;
            *done = true;
            return LTD_OK;
        }
        enum ltd_err e = cj_push(ps, v);
        if (e != LTD_OK)
            return e;
        bool obj = ps->frames[ps->nframes - 1].node->type == CJSON_OBJECT;
        cj_skip_ws(ps);
        unsigned char c = ps->i < ps->len ? ps->p[ps->i] : 0;
        if (c == ',') {
            ps->i++;
            return obj ? cj_key(ps) : LTD_OK;
        }
        if (c != (obj ? '}' : ']'))
            return cj_unexpected(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        ps->i++;
        e = cj_close(ps, &v);
        if (e != LTD_OK)
            return e;
    }
}

/* The main loop: one value per round, each round consumes input. */
static enum ltd_err
cj_run(struct cj_parser *ps, struct cjson **root)
{
    bool done = false;
    enum ltd_err e = LTD_OK;
    while (!done) {
        struct cjson *v = NULL;
        cj_skip_ws(ps);
        if (ps->i >= ps->len)
            return cj_unexpected(ps, "expected a value");
        unsigned char c = ps->p[ps->i];
        if (c == '[' || c == '{')
            e = cj_open(ps, &v);
        else
            e = cj_scalar(ps, &v);
        if (e != LTD_OK)
            return e;
        if (v != NULL)
            e = cj_finish(ps, v, root, &done);
        if (e != LTD_OK)
            return e;
    }
    cj_skip_ws(ps);
    if (ps->i < ps->len)
        return ltd_fail(ps->eb, LTD_E_JSON_TRAILING, "at byte %zu: data after the JSON value",
                        ps->i);
    return LTD_OK;
}

enum ltd_err
cjson_parse(struct arena *arena, const char *buf, size_t len, const struct cjson_limits *limits,
            struct cjson **out, struct ltd_errbuf *eb)
{
    return cjson_parse_canon(arena, buf, len, limits, out, NULL, eb);
}

enum ltd_err
cjson_parse_canon(struct arena *arena, const char *buf, size_t len,
                  const struct cjson_limits *limits, struct cjson **out, bool *canonical,
                  struct ltd_errbuf *eb)
{
    LTD_ASSERT(arena != NULL);
    LTD_ASSERT(out != NULL);
    LTD_ASSERT(buf != NULL || len == 0);
    *out = NULL;
    if (canonical)
        *canonical = false;
    const struct cjson_limits *lim = limits ? limits : &cjson_limits_default;
    if (len > lim->bytes_max)
        return ltd_fail(eb, LTD_E_JSON_TOO_LARGE,
                        "at byte %zu: document of %zu bytes exceeds the limit of %zu",
                        lim->bytes_max, len, lim->bytes_max);
    struct cj_frame frames[cj_frames_inline_max];
    struct cj_slot slots[cj_slots_inline_max];
    struct cj_parser ps = {
        .p = (const unsigned char *)buf,
        .len = len,
        .a = arena,
        .lim = lim,
        .eb = eb,
        .frames = frames,
        .frames_cap = cj_frames_inline_max,
        .slots = slots,
        .slots_cap = cj_slots_inline_max,
        .canon = true,
    };
    if (len > UINT32_MAX) /* node offsets (at) are 32-bit */
        return ltd_fail(eb, LTD_E_JSON_TOO_LARGE, "document of %zu bytes exceeds 4 GiB", len);
    struct cjson *root = NULL;
    enum ltd_err e = cj_run(&ps, &root);
    if (e != LTD_OK)
        goto out;
    LTD_ASSERT(root != NULL);
    LTD_ASSERT(ps.nframes == 0 && ps.nslots == 0);
    *out = root;
    if (canonical)
        *canonical = ps.canon;
out:
    if (ps.slots_heap)
        free(ps.slots);
    if (ps.frames_heap)
        free(ps.frames);
    return e;
}

/* ------------------------------------------------------------------------ */
/* Python repr(float)                                                       */

/* Splits printf's "%.*e" text into sign, significant digits and exponent. */
static size_t
cj_sci_split(const char *s, char dig[20], int *exp10, bool *neg)
{
    size_t k = 0;
    *neg = *s == '-';
    s += *neg;
    for (; *s != 'e'; s++)
        if (*s != '.' && k < 18)
            dig[k++] = *s;
    LTD_ASSERT(k >= 1 && k <= 17);
    dig[k] = 0;
    *exp10 = (int)strtol(s + 1, NULL, 10);
    return k;
}

/* For a power of two the values that round to d reach twice as far above
 * |d| as below, so when the nearest k-digit decimal lies below |d| and does
 * not round-trip, the next k-digit decimal up may (Python's repr then picks
 * it).  Tries that candidate; on success replaces dig/exp10. */
static bool
cj_try_next_up(double d, char dig[20], size_t k, int *exp10)
{
    char up[20], tmp[48];
    memcpy(up, dig, k + 1);
    size_t j = k;
    while (j > 0 && up[j - 1] == '9')
        up[--j] = '0';
    int e = *exp10;
    if (j == 0) { /* 99..9 + 1 = 100..0, one decimal place up */
        up[0] = '1';
        e++;
    } else {
        up[j - 1]++;
    }
    int n = snprintf(tmp, sizeof tmp, "%s%se%d", d < 0 ? "-" : "", up, e - (int)k + 1);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof tmp);
    if (strtod(tmp, NULL) != d)
        return false;
    memcpy(dig, up, k + 1);
    *exp10 = e;
    return true;
}

/* Shortest round-trip digits of d, as Python's repr (dtoa mode 0) chooses
 * them: writes the significant digits (no trailing zeros, at least one) to
 * dig, returns their count and sets *exp10 to the decimal exponent of the
 * first digit and *neg to the sign.
 *
 * For a normal double the search starts at 15 digits: any decimal of at
 * most 15 digits within the (tiny) rounding interval of d is also the
 * nearest 15-digit decimal to d once padded with zeros, so when "%.14e"
 * round-trips, stripping its trailing zeros gives the shortest form.
 * Otherwise 16 digits (nearest, or the power-of-two neighbour) or 17 (which
 * always round-trip).  Subnormals have wide intervals; they try every
 * length from 1 up. */
static size_t
cj_shortest(double d, char dig[20], int *exp10, bool *neg)
{
    int bexp;
    bool pow2 = fabs(frexp(d, &bexp)) == 0.5;
    size_t k = 0;
    for (int prec = fabs(d) >= DBL_MIN ? 14 : 0; prec <= 16; prec++) {
        char tmp[40];
        int n = snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        LTD_ASSERT(n > 0 && (size_t)n < sizeof tmp);
        k = cj_sci_split(tmp, dig, exp10, neg);
        double back = strtod(tmp, NULL);
        if (prec == 16 || back == d)
            break;
        if (pow2 && fabs(back) < fabs(d) && cj_try_next_up(d, dig, k, exp10))
            break;
    }
    while (k > 1 && dig[k - 1] == '0')
        k--;
    dig[k] = 0;
    return k;
}

/* Lays out significant digits dig[0..nd) with decimal exponent e as
 * Python's repr does (fixed for -4 <= e < 16, else scientific) into out,
 * NUL-terminated; returns the length. */
static size_t
cj_format(const char *dig, size_t nd, int e, bool neg, char out[cj_repr_bytes_max])
{
    LTD_ASSERT(nd >= 1 && nd <= 17);
    size_t w = 0;
    if (neg)
        out[w++] = '-';
    if (e >= -4 && e < 16) {
        if (e < 0) {
            out[w++] = '0';
            out[w++] = '.';
            for (int z = -1; z > e; z--)
                out[w++] = '0';
            memcpy(out + w, dig, nd);
            w += nd;
        } else {
            size_t ip = (size_t)e + 1; /* integer-part digits */
            for (size_t k = 0; k < ip; k++)
                out[w++] = k < nd ? dig[k] : '0';
            out[w++] = '.';
            if (nd > ip) {
                memcpy(out + w, dig + ip, nd - ip);
                w += nd - ip;
            } else {
                out[w++] = '0';
            }
        }
    } else {
        out[w++] = dig[0];
        if (nd > 1) {
            out[w++] = '.';
            memcpy(out + w, dig + 1, nd - 1);
            w += nd - 1;
        }
        int m =
            snprintf(out + w, cj_repr_bytes_max - w, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        LTD_ASSERT(m > 0 && (size_t)m < cj_repr_bytes_max - w);
        w += (size_t)m;
    }
    LTD_ASSERT(w < cj_repr_bytes_max);
    out[w] = 0;
    return w;
}

/* Formats d as Python repr() does into out (NUL-terminated); returns the
 * length. */
static size_t
cj_repr(double d, char out[cj_repr_bytes_max])
{
    char dig[20];
    int e;
    bool neg;
    size_t nd = cj_shortest(d, dig, &e, &neg);
    return cj_format(dig, nd, e, neg, out);
}

void
cjson_float_repr(double d, struct buf *out)
{
    LTD_ASSERT(isfinite(d));
    char r[cj_repr_bytes_max];
    size_t n = cj_repr(d, r);
    buf_add(out, r, n);
}

/* ------------------------------------------------------------------------ */
/* canonical writer                                                         */

/* Appends without writing the NUL; cjson_canonical terminates once. */
static inline void
cj_out(struct buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n)
        buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void
cj_outc(struct buf *b, char c)
{
    if (b->cap - b->len <= 1)
        buf_reserve(b, 1);
    b->p[b->len++] = c;
}

/* True when any of the eight bytes in x needs escaping: '"', '\\' or a
 * byte below 0x20 (the usual "has zero byte" and "has less than" tricks). */
static inline bool
cj_swar_escape(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t hasq = (q - ones) & ~q, hasb = (b - ones) & ~b;
    uint64_t ctl = (x - ones * 0x20) & ~x;
    return ((hasq | hasb | ctl) & high) != 0;
}

static void
cj_write_string(const char *str, size_t n, struct buf *b)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    if (b->cap - b->len <= n + 2)
        buf_reserve(b, n + 2); /* exact when nothing needs escaping */
    b->p[b->len++] = '"';
    while (i < n) { /* every round consumes at least one byte */
        size_t start = i;
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (cj_swar_escape(x))
                break;
            i += 8;
        }
        while (i < n && cj_esc[s[i]] == 0)
            i++;
        if (i > start)
            cj_out(b, s + start, i - start);
        if (i >= n)
            break;
        char e = cj_esc[s[i]];
        if (e == 'u') {
            char u[6] = {'\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15]};
            cj_out(b, u, sizeof u);
        } else {
            char u[2] = {'\\', e};
            cj_out(b, u, sizeof u);
        }
        i++;
    }
    cj_outc(b, '"');
}

static void
cj_write(const struct cjson *v, struct buf *b)
{
    LTD_ASSERT(v != NULL);
    switch (v->type) {
    case CJSON_NULL:
        cj_out(b, "null", 4);
        return;
    case CJSON_FALSE:
        cj_out(b, "false", 5);
        return;
    case CJSON_TRUE:
        cj_out(b, "true", 4);
        return;
    case CJSON_INT:
        LTD_ASSERT(v->str != NULL && v->len > 0);
        cj_out(b, v->str, v->len);
        return;
    case CJSON_FLOAT:
        if (v->str != NULL) {
            cj_out(b, v->str, v->len);
        } else { /* a node built by hand */
            LTD_ASSERT(isfinite(v->num));
            char r[cj_repr_bytes_max];
            size_t rn = cj_repr(v->num, r); /* fill r before it is read */
            cj_out(b, r, rn);
        }
        return;
    case CJSON_STRING:
        cj_write_string(v->str, v->len, b);
        return;
    case CJSON_ARRAY:
        cj_outc(b, '[');
        for (uint32_t k = 0; k < v->len; k++) {
            if (k > 0)
                cj_outc(b, ',');
            cj_write(v->items[k], b);
        }
        cj_outc(b, ']');
        return;
    case CJSON_OBJECT:
        cj_outc(b, '{');
        for (uint32_t k = 0; k < v->len; k++) {
            if (k > 0)
                cj_outc(b, ',');
            cj_write_string(v->members[k].key, v->members[k].klen, b);
            cj_outc(b, ':');
            cj_write(v->members[k].val, b);
        }
        cj_outc(b, '}');
        return;
    }
    ltd_assert_fail("v->type is a known cjson_type", __FILE__, __LINE__);
}

void
cjson_canonical(const struct cjson *v, struct buf *out)
{
    cj_write(v, out);
    buf_reserve(out, 0);
    out->p[out->len] = 0;
}

/* ------------------------------------------------------------------------ */
/* lookups                                                                  */

struct cjson *
cjson_get(const struct cjson *obj, const char *key)
{
    if (obj == NULL || obj->type != CJSON_OBJECT || key == NULL)
        return NULL;
    size_t kl = strlen(key);
    if (kl > UINT32_MAX)
        return NULL;
    uint32_t lo = 0, hi = obj->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct cjson_member *m = &obj->members[mid];
        int c = cj_key_cmp(m->key, m->klen, key, (uint32_t)kl);
        if (c == 0)
            return m->val;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct cjson *
cjson_at(const struct cjson *arr, uint32_t i)
{
    if (arr == NULL || arr->type != CJSON_ARRAY || i >= arr->len)
        return NULL;
    return arr->items[i];
}

bool
cjson_is_string(const struct cjson *v)
{
    return v != NULL && v->type == CJSON_STRING;
}

bool
cjson_string_eq(const struct cjson *v, const char *s)
{
    if (!cjson_is_string(v) || s == NULL)
        return false;
    size_t n = strlen(s);
    return n == v->len && memcmp(v->str, s, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* builders                                                                 */

struct cjson *
cjson_new_null(struct arena *a)
{
    return cj_node(a, CJSON_NULL);
}

struct cjson *
cjson_new_bool(struct arena *a, bool b)
{
    return cj_node(a, b ? CJSON_TRUE : CJSON_FALSE);
}

struct cjson *
cjson_new_string(struct arena *a, const char *s, size_t len)
{
    LTD_ASSERT(s != NULL || len == 0);
    LTD_ASSERT(len <= UINT32_MAX);
    struct cjson *v = cj_node(a, CJSON_STRING);
    v->str = arena_memdup(a, s, len);
    v->len = (uint32_t)len;
    return v;
}

struct cjson *
cjson_new_stringz(struct arena *a, const char *s)
{
    LTD_ASSERT(s != NULL);
    return cjson_new_string(a, s, strlen(s));
}

struct cjson *
cjson_new_int(struct arena *a, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof t);
    struct cjson *x = cj_node(a, CJSON_INT);
    x->str = arena_memdup(a, t, (size_t)n);
    x->len = (uint32_t)n;
    x->num = (double)v;
    return x;
}

struct cjson *
cjson_new_array(struct arena *a)
{
    return cj_node(a, CJSON_ARRAY);
}

struct cjson *
cjson_new_object(struct arena *a)
{
    return cj_node(a, CJSON_OBJECT);
}

/* Makes room for one more slot of elem bytes in *arr (arena memory). */
static void *
cj_arena_grow(struct arena *a, void *arr, uint32_t len, uint32_t *cap, size_t elem)
{
    if (len < *cap)
        return arr;
    LTD_ASSERT(*cap <= UINT32_MAX / 2);
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *q = arena_alloc(a, (size_t)ncap * elem);
    if (len > 0)
        memcpy(q, arr, (size_t)len * elem);
    *cap = ncap;
    return q;
}

void
cjson_arr_push(struct arena *a, struct cjson *arr, struct cjson *v)
{
    LTD_ASSERT(arr != NULL && arr->type == CJSON_ARRAY);
    LTD_ASSERT(v != NULL);
    arr->items = cj_arena_grow(a, arr->items, arr->len, &arr->cap, sizeof(struct cjson *));
    arr->items[arr->len++] = v;
}

void
cjson_obj_set(struct arena *a, struct cjson *obj, const char *key, struct cjson *v)
{
    LTD_ASSERT(obj != NULL && obj->type == CJSON_OBJECT);
    LTD_ASSERT(key != NULL && v != NULL);
    size_t kl = strlen(key);
    LTD_ASSERT(kl <= UINT32_MAX);
    uint32_t lo = 0, hi = obj->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct cjson_member *m = &obj->members[mid];
        int c = cj_key_cmp(m->key, m->klen, key, (uint32_t)kl);
        if (c == 0) {
            obj->members[mid].val = v;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    obj->members = cj_arena_grow(a, obj->members, obj->len, &obj->cap, sizeof *obj->members);
    memmove(obj->members + lo + 1, obj->members + lo,
            (size_t)(obj->len - lo) * sizeof *obj->members);
    obj->members[lo] = (struct cjson_member){arena_memdup(a, key, kl), (uint32_t)kl, v};
    obj->len++;
}

struct cjson *
cjson_clone(struct arena *a, const struct cjson *v)
{
    LTD_ASSERT(v != NULL);
    struct cjson *c = cj_node(a, v->type);
    c->len = v->len;
    c->num = v->num;
    c->cap = v->len;
    if (v->str != NULL)
        c->str = arena_memdup(a, v->str, v->len);
    if (v->type == CJSON_ARRAY && v->len > 0) {
        c->items = arena_alloc(a, (size_t)v->len * sizeof(struct cjson *));
        for (uint32_t k = 0; k < v->len; k++)
            c->items[k] = cjson_clone(a, v->items[k]);
    } else if (v->type == CJSON_OBJECT && v->len > 0) {
        c->members = arena_alloc(a, (size_t)v->len * sizeof *c->members);
        for (uint32_t k = 0; k < v->len; k++) {
            const struct cjson_member *m = &v->members[k];
            c->members[k] = (struct cjson_member){arena_memdup(a, m->key, m->klen), m->klen,
                                                  cjson_clone(a, m->val)};
        }
    }
    return c;
}
