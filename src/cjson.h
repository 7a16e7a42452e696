/*
 * cjson.h - strict JSON reader and the canonical writer that BigchainDB
 * hashes (protocol doc §2.1).
 *
 * The reader accepts RFC 8259 JSON only: UTF-8 validated (no overlongs, no
 * surrogates encoded in UTF-8, nothing above U+10FFFF), `\u` escapes with
 * surrogate pairs joined and lone surrogates rejected, no raw control
 * characters in strings, no leading zeros, no NaN/Infinity, limits on size,
 * depth, string length and member count, and duplicate object keys
 * rejected.  Numbers keep the distinction BigchainDB makes: a literal
 * without `.`, `e` or `E` is an integer kept as exact text (arbitrary
 * size); anything else is a float kept as a double.
 *
 * Objects are stored with their members sorted by the UTF-8 bytes of the
 * key (shorter prefix first), which is both the canonical order and how
 * duplicates are found.  The tree lives in a caller-supplied arena.
 *
 * The canonical writer emits: no whitespace, keys in that order, raw UTF-8,
 * `\"` `\\` `\b` `\t` `\n` `\f` `\r`, every other byte below 0x20 as
 * `\u00XX` with uppercase hex, `/` and U+007F unescaped, integers as their
 * exact text (`-0` as `0`), floats as Python's repr().
 *
 * Not here: any notion of transactions.  jansson stays the reader for API
 * bodies that are not hashed; this module is for everything that is.
 */
#ifndef LTD_CJSON_H
#define LTD_CJSON_H

#include "err.h"
#include "ltd.h"

enum cjson_type {
    CJSON_NULL,
    CJSON_FALSE,
    CJSON_TRUE,
    CJSON_INT,    /* exact decimal text in str/len, normalised ("-0" -> "0") */
    CJSON_FLOAT,  /* value in num; str/len hold the canonical Python repr */
    CJSON_STRING, /* unescaped UTF-8 bytes in str/len (may contain NUL) */
    CJSON_ARRAY,
    CJSON_OBJECT,
};

struct cjson;

struct cjson_member {
    const char *key; /* unescaped UTF-8, NUL-terminated (may contain NUL) */
    uint32_t klen;   /* key bytes */
    struct cjson *val;
};

struct cjson {
    enum cjson_type type;
    uint32_t len;                 /* string/number bytes, or number of items/members */
    const char *str;              /* STRING/INT/FLOAT text, NUL-terminated */
    double num;                   /* FLOAT value; for INT the nearest double (+-HUGE_VAL
                                     beyond the double range) */
    struct cjson **items;         /* ARRAY items, in order */
    struct cjson_member *members; /* OBJECT members, sorted by key bytes */
    uint32_t cap;                 /* allocated slots in items/members (builders) */
    uint32_t at;                  /* parsed: offset of the value's first byte in the text */
};

struct cjson_limits {
    size_t bytes_max;        /* whole document */
    uint32_t depth_max;      /* arrays/objects nesting */
    size_t string_bytes_max; /* one string or key after unescaping */
    uint32_t members_max;    /* items of one array or members of one object */
};

/* json_bytes_max, json_depth_max, json_string_bytes_max, json_members_max. */
extern const struct cjson_limits cjson_limits_default;

/*
 * Parses buf[0..len) into a tree allocated from arena.
 * [in] limits  NULL means cjson_limits_default.
 * [out] out    the root; NULL on failure.
 * Returns LTD_OK, or one of LTD_E_JSON_* with a message in eb giving the
 * byte offset and what was wrong.  Leading/trailing whitespace is allowed,
 * anything else after the value is LTD_E_JSON_TRAILING.  Never reads past
 * len; buf need not be NUL-terminated.
 *   TOO_LARGE     len > bytes_max (checked before anything is read)
 *   DEPTH         more than depth_max nested arrays/objects (no recursion)
 *   STRING_LONG   a string or key longer than string_bytes_max once unescaped
 *   MEMBERS       more than members_max items/members in one container
 *   UTF8          overlong, surrogate, > U+10FFFF or truncated UTF-8
 *   SURROGATE     a lone or mis-ordered \uD800-\uDFFF escape
 *   CONTROL       a raw byte < 0x20 inside a string
 *   NUMBER        leading zero, '+', '.5', '1.', '1e', NaN/Infinity, a float
 *                 that overflows a double, or a number literal longer than
 *                 string_bytes_max
 *   DUP_KEY       the same key twice in one object (the message quotes it)
 *   TRAILING      anything but whitespace after the value
 *   SYNTAX        everything else
 * On failure *out is NULL; what was allocated stays in the arena.  The tree
 * borrows nothing from buf.  Numbers use strtod/snprintf, so LC_NUMERIC
 * must be "C" (the default unless someone calls setlocale).
 */
LTD_MUST_CHECK enum ltd_err cjson_parse(struct arena *arena, const char *buf, size_t len,
                                        const struct cjson_limits *limits, struct cjson **out,
                                        struct ltd_errbuf *eb);

/* cjson_parse, and *canonical tells whether buf is byte for byte the
 * cjson_canonical of the tree (no whitespace, keys strictly ascending, the
 * writer's escapes and number forms).  Then a value's text is [v->at, ...)
 * in buf, and a STRING's is exactly v->len + 2 bytes when it holds no byte
 * the writer escapes.  *canonical is false on failure. */
LTD_MUST_CHECK enum ltd_err cjson_parse_canon(struct arena *arena, const char *buf, size_t len,
                                              const struct cjson_limits *limits, struct cjson **out,
                                              bool *canonical, struct ltd_errbuf *eb);

/* Appends the canonical serialization of v to out (see file comment).
 * Recurses over the tree (parsed trees are at most depth_max deep).  Strings
 * are written as stored: the reader guarantees valid UTF-8, builders trust
 * their caller. */
void cjson_canonical(const struct cjson *v, struct buf *out);

/* Appends Python's repr() of a finite double (e.g. "1e-05", "100000.0",
 * "1.2345678901234568e+18").  Asserts isfinite(d). */
void cjson_float_repr(double d, struct buf *out);

/* Lookups.  Return NULL when absent or when v is not of the right type. */
/* cjson_get compares key (strlen bytes) with the stored (key, klen), so a
 * key containing NUL can be stored and written but not looked up here.
 * The result is borrowed from the tree. */
struct cjson *cjson_get(const struct cjson *obj, const char *key); /* binary search */
struct cjson *cjson_at(const struct cjson *arr, uint32_t i);

/* Convenience predicates. */
bool cjson_is_string(const struct cjson *v);
/* True iff v is a STRING whose bytes equal s (NUL-terminated). */
bool cjson_string_eq(const struct cjson *v, const char *s);

/* ---- builders: trees made in code (CLI, details, tests) ----
 * All allocate from the arena.  cjson_obj_set inserts in sorted position
 * (copying the key) and replaces the value of an existing key; it and
 * cjson_arr_push grow the arrays geometrically inside the arena and store
 * v by pointer (not copied).  Strings must be valid UTF-8 (not checked).
 * Passing a non-array/non-object is a bug (LTD_ASSERT). */
struct cjson *cjson_new_null(struct arena *a);
struct cjson *cjson_new_bool(struct arena *a, bool b);
struct cjson *cjson_new_string(struct arena *a, const char *s, size_t len);
struct cjson *cjson_new_stringz(struct arena *a, const char *s);
struct cjson *cjson_new_int(struct arena *a, int64_t v);
struct cjson *cjson_new_array(struct arena *a);
struct cjson *cjson_new_object(struct arena *a);
void cjson_arr_push(struct arena *a, struct cjson *arr, struct cjson *v);
void cjson_obj_set(struct arena *a, struct cjson *obj, const char *key, struct cjson *v);

/* Deep copy of v into arena a. */
struct cjson *cjson_clone(struct arena *a, const struct cjson *v);

/* The singleton JSON null, usable as a substitute value (never freed). */
extern struct cjson cjson_null_value;

#endif
