/*
 * test_cjson.c - unit tests for cjson: the §2.1 float table and Python
 * repr, escaping, UTF-8, key order, exact integers, builders and lookups,
 * the §6.4 CREATE example, and the negative space (every LTD_E_JSON_* code
 * with specific inputs, deep nesting, huge strings, every truncation of a
 * transaction).
 *
 * Every parse goes through a heap copy of exactly the input size, so ASan
 * reports any read past the end (the parser must not rely on a NUL).
 * Cases are counted as positive (must parse) or negative (must fail with a
 * given code) and the counts are printed before the summary line.
 */
#include "../src/cjson.h"
#include "test.h"

#include <math.h>
#include <time.h>

static int cases_pos, cases_neg;

#define STARTS(s, prefix) (strncmp((s), (prefix), strlen(prefix)) == 0)

/* The §6.4 signed CREATE, in the driver's key order. */
static const char create_signed[] =
    "{\"id\":\"4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317\","
    "\"operation\":\"CREATE\",\"outputs\":[{\"condition\":{\"details\":{\"type\":"
    "\"ed25519-sha-256\",\"public_key\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"},"
    "\"uri\":\"ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256"
    "&cost=131072\"},\"amount\":\"1\",\"public_keys\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTj"
    "xLtVUibD\"]}],\"inputs\":[{\"fulfillment\":\"pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvz"
    "br-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JYQQ-p2nCg3_9BfOI-15vzldhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZ"
    "CA_UD\",\"fulfills\":null,\"owners_before\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVU"
    "ibD\"]}],\"metadata\":{\"sequence\":0},\"asset\":{\"data\":{\"msg\":\"Hello BigchainDB!\"}"
    "},\"version\":\"2.0\"}";

/* §6.4 unsigned CREATE canonical string U (id and fulfillment null). */
static const char create_u[] =
    "{\"asset\":{\"data\":{\"msg\":\"Hello BigchainDB!\"}},\"id\":null,\"inputs\":[{\"fulfil"
    "lment\":null,\"fulfills\":null,\"owners_before\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoT"
    "jxLtVUibD\"]}],\"metadata\":{\"sequence\":0},\"operation\":\"CREATE\",\"outputs\":[{\"am"
    "ount\":\"1\",\"condition\":{\"details\":{\"public_key\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmK"
    "bZoTjxLtVUibD\",\"type\":\"ed25519-sha-256\"},\"uri\":\"ni:///sha-256;PNYwdxaRaNw60N6LDF"
    "zOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072\"},\"public_keys\":[\"4K9sWUM"
    "FwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"]}],\"version\":\"2.0\"}";

/* The id preimage of the signed CREATE (id null, fulfillment kept); its
 * SHA3-256 is the id (checked with Python's hashlib when writing this). */
static const char create_preimage[] =
    "{\"asset\":{\"data\":{\"msg\":\"Hello BigchainDB!\"}},\"id\":null,\"inputs\":[{\"fulfil"
    "lment\":\"pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4J"
    "YQQ-p2nCg3_9BfOI-15vzldhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZCA_UD\",\"fulfills\":null,\"owner"
    "s_before\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"]}],\"metadata\":{\"sequence"
    "\":0},\"operation\":\"CREATE\",\"outputs\":[{\"amount\":\"1\",\"condition\":{\"details\":"
    "{\"public_key\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\",\"type\":\"ed25519-sha-"
    "256\"},\"uri\":\"ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-s"
    "ha-256&cost=131072\"},\"public_keys\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"]"
    "}],\"version\":\"2.0\"}";

/* ---- helpers ---- */

/* Parses a heap copy of exactly n bytes; checks the failure contract. */
static enum ltd_err
parse_n(struct arena *a, const void *p, size_t n, const struct cjson_limits *lim,
        struct cjson **out, struct ltd_errbuf *eb)
{
    char *copy = malloc(n ? n : 1);
    if (n)
        memcpy(copy, p, n);
    ltd_errbuf_clear(eb);
    struct cjson *root = &cjson_null_value; /* must be overwritten */
    bool canonical = true;
    enum ltd_err e = cjson_parse_canon(a, copy, n, lim, &root, &canonical, eb);
    if (e != LTD_OK) {
        CHECK(root == NULL);
        CHECK(!canonical);
        CHECK(eb->code == e);
        CHECK(strncmp(eb->msg, "at byte ", 8) == 0);
    } else {
        CHECK(root != NULL);
        /* every parse in this file also checks the canonical verdict */
        struct buf c;
        buf_init(&c);
        cjson_canonical(root, &c);
        bool same = c.len == n && memcmp(c.p, copy, n) == 0;
        if (same != canonical)
            fprintf(stderr, "  input %.60s: canonical flag %d, text %s canonical\n",
                    (const char *)p, canonical, same ? "is" : "is not");
        CHECK(same == canonical);
        buf_release(&c);
    }
    free(copy);
    *out = root;
    return e;
}

/* Canonical form of a parse of in[0..n), or NULL (caller frees). */
static char *
canon_n(const char *in, size_t n, enum ltd_err *code)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *root;
    arena_init(&a);
    *code = parse_n(&a, in, n, NULL, &root, &eb);
    char *s = NULL;
    if (*code == LTD_OK) {
        struct buf b;
        buf_init(&b);
        cjson_canonical(root, &b);
        s = buf_detach(&b, NULL);
    }
    arena_release(&a);
    return s;
}

/* Positive case: in (n bytes) must parse and canonicalise to want. */
static void
canon_is(const char *in, size_t n, const char *want)
{
    enum ltd_err code;
    char *got = canon_n(in, n, &code);
    cases_pos++;
    if (code != LTD_OK)
        fprintf(stderr, "  input %.60s: %s\n", in, ltd_err_name(code));
    CHECK_EQ_STR(got, want);
    if (got != NULL) { /* the canonical form itself reads as canonical (parse_n checks) */
        enum ltd_err again;
        free(canon_n(got, strlen(got), &again));
        CHECK_EQ_INT(again, LTD_OK);
    }
    free(got);
}
#define CANON(in, want) canon_is((in), sizeof(in) - 1, (want))

/* Negative case: in (n bytes) must fail with code want under lim. */
static void
fails_lim(const void *in, size_t n, const struct cjson_limits *lim, enum ltd_err want)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *root;
    arena_init(&a);
    enum ltd_err e = parse_n(&a, in, n, lim, &root, &eb);
    cases_neg++;
    if (e != want)
        fprintf(stderr, "  input %.40s: got %s (%s), want %s\n", (const char *)in, ltd_err_name(e),
                eb.msg, ltd_err_name(want));
    CHECK_EQ_INT(e, want);
    arena_release(&a);
}
#define FAILS(in, want) fails_lim((in), sizeof(in) - 1, NULL, (want))

/* The message for in, which must fail. */
static void
message_of(const char *in, char *msg, size_t cap)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *root;
    arena_init(&a);
    CHECK(parse_n(&a, in, strlen(in), NULL, &root, &eb) != LTD_OK);
    snprintf(msg, cap, "%s", eb.msg);
    arena_release(&a);
    cases_neg++;
}

static char *
repr_of(double d)
{
    struct buf b;
    buf_init(&b);
    cjson_float_repr(d, &b);
    return buf_detach(&b, NULL);
}

static void
repr_is(double d, const char *want)
{
    char *got = repr_of(d);
    CHECK_EQ_STR(got, want);
    free(got);
    cases_pos++;
}

/* ---- positive: numbers ---- */

static void
test_float_table(void)
{
    /* Every row of protocol doc §2.1 (literal -> canonical). */
    CANON("0.1", "0.1");
    CANON("1.5e-7", "1.5e-07");
    CANON("1.0", "1.0");
    CANON("0.000001", "1e-06");
    CANON("1", "1");
    CANON("1e-5", "1e-05");
    CANON("1e16", "1e+16");
    CANON("0.0001", "0.0001");
    CANON("1E5", "100000.0");
    CANON("1e21", "1e+21");
    CANON("1e22", "1e+22");
    CANON("100.0", "100.0");
    CANON("12345678.9", "12345678.9");
    CANON("-0", "0");
    CANON("-0.0", "-0.0");
    CANON("1234567890123456789.0", "1.2345678901234568e+18");
    CANON("3.14159265358979323846", "3.141592653589793");
    /* Inside containers, and the int/float distinction of the literal. */
    CANON("[1e16,1.0,1,-0,-0.0,0.0,1E+2,1e-0]", "[1e+16,1.0,1,0,-0.0,0.0,100.0,1.0]");
    CANON("{\"x\":1.5E-7}", "{\"x\":1.5e-07}");
    CANON("1e-400", "0.0"); /* underflow is not an error (Python: 0.0) */
    CANON("-1e-400", "-0.0");
    CANON("2.4703282292062328e-324", "5e-324");
    CANON("1.7976931348623157e308", "1.7976931348623157e+308");
    CANON("0.30000000000000004", "0.30000000000000004");
    CANON("123456789012345678901234567890.0", "1.2345678901234568e+29");
    /* Literals with <= 15 significant digits take the no-search path. */
    CANON("100e-2", "1.0");
    CANON("0.1e1", "1.0");
    CANON("1000000000000000e1", "1e+16");
    CANON("123456789012345e-5", "1234567890.12345");
    CANON("999999999999999e292", "9.99999999999999e+306");
    CANON("0.000000000000000000000000001e27", "1.0");
    CANON("123456789012345.6", "123456789012345.6");
    /* ...and the others search. */
    CANON("9007199254740993.0", "9007199254740992.0");
    CANON("1.000000000000000000000001", "1.0");
    CANON("1234567890123456.7", "1234567890123456.8");
    CANON("2.2250738585072011e-308", "2.225073858507201e-308");
    CANON("-5e-324", "-5e-324");
    char lit[1100];
    snprintf(lit, sizeof lit, "0.%01000d1e1001", 0); /* 1000 zeros then 1, times 1e1001 */
    canon_is(lit, strlen(lit), "1.0");
}

static void
test_float_repr(void)
{
    repr_is(1e-05, "1e-05");
    repr_is(100000.0, "100000.0");
    repr_is(1.0, "1.0");
    repr_is(-0.0, "-0.0");
    repr_is(0.0, "0.0");
    repr_is(0.0001, "0.0001");
    repr_is(0.00009999999999999999, "9.999999999999999e-05");
    repr_is(12345678.9, "12345678.9");
    repr_is(1e16, "1e+16");
    repr_is(1e15, "1000000000000000.0");
    repr_is(9999999999999998.0, "9999999999999998.0");
    repr_is(1.5e-07, "1.5e-07");
    repr_is(1.2345678901234568e+18, "1.2345678901234568e+18");
    repr_is(5e-324, "5e-324");
    repr_is(1.7976931348623157e+308, "1.7976931348623157e+308");
    repr_is(2.2250738585072014e-308, "2.2250738585072014e-308");
    repr_is(1e+21, "1e+21");
    repr_is(1e22, "1e+22");
    repr_is(1e23, "1e+23");
    repr_is(-1.5, "-1.5");
    repr_is(1.0 / 3.0, "0.3333333333333333");
    repr_is(2.0 / 3.0, "0.6666666666666666");
    repr_is(0.1 + 0.2, "0.30000000000000004");
    repr_is(9007199254740992.0, "9007199254740992.0");
    repr_is(123.456, "123.456");
    repr_is(-1e-100, "-1e-100");
    repr_is(1e100, "1e+100");
    /* Powers of two whose shortest repr is not the nearest decimal of that
     * length (the value's rounding interval is wider above than below);
     * all from Python 3 repr(2.0**e). */
    static const struct {
        int e;
        const char *repr;
    } pow2[] = {
        {-1017, "7.120236347223045e-307"}, {-1007, "7.291122019556398e-304"},
        {-957, "8.209073602596753e-289"},  {-921, "5.641232424577593e-278"},
        {-808, "5.858190679279809e-244"},  {-791, "7.678447687145631e-239"},
        {-788, "6.142758149716505e-238"},  {-778, "6.290184345309701e-235"},
        {-705, "5.940911144672375e-213"},  {-695, "6.083493012144512e-210"},
        {-662, "5.225680706521042e-200"},  {-652, "5.351097043477547e-197"},
        {-549, "5.426657103235053e-166"},  {-509, "5.966672584960166e-154"},
        {-496, "4.887898181599368e-150"},  {-489, "6.256509672447191e-148"},
        {-383, "5.075883674631299e-116"},  {-366, "6.653062250012736e-111"},
        {-296, "7.854549544476363e-90"},   {-140, "7.174648137343064e-43"},
        {-97, "6.310887241768095e-30"},    {-77, "6.617444900424222e-24"},
        {-44, "5.684341886080802e-14"},    {-24, "5.960464477539063e-08"},
        {89, "6.189700196426902e+26"},     {122, "5.316911983139664e+36"},
        {132, "5.444517870735016e+39"},    {172, "5.986310706507379e+51"},
        {182, "6.129982163463556e+54"},    {275, "6.070840288205404e+82"},
        {305, "6.518515124270356e+91"},    {345, "7.167183174968974e+103"},
        {378, "6.156563468186638e+113"},   {398, "6.455624695217272e+119"},
        {405, "8.263199609878108e+121"},   {481, "6.243497100631985e+144"},
        {534, "5.623642243178996e+160"},   {544, "5.758609657015292e+163"},
        {554, "5.896816288783659e+166"},   {574, "6.183260036827614e+172"},
        {594, "6.483618076376552e+178"},   {710, "5.386379163185535e+213"},
        {803, "5.334411546303884e+241"},   {863, "6.150157786156811e+259"},
        {896, "5.282945311356653e+269"},   {976, "6.386688990511104e+293"},
    };
    for (size_t k = 0; k < ARRAY_LEN(pow2); k++) {
        repr_is(ldexp(1.0, pow2[k].e), pow2[k].repr);
        /* and through the parser, from the literal Python prints */
        canon_is(pow2[k].repr, strlen(pow2[k].repr), pow2[k].repr);
    }
}

static void
test_integers(void)
{
    CANON("9007199254740993", "9007199254740993");
    CANON("123456789012345678901234567890", "123456789012345678901234567890");
    CANON("-123456789012345678901234567890", "-123456789012345678901234567890");
    CANON("[0,-0,7,-7,18446744073709551616]", "[0,0,7,-7,18446744073709551616]");
    CANON("9999999999999999999", "9999999999999999999");
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *v;
    arena_init(&a);
    CHECK_EQ_INT(parse_n(&a, "-0", 2, NULL, &v, &eb), LTD_OK);
    CHECK(v->type == CJSON_INT && v->len == 1 && strcmp(v->str, "0") == 0);
    CHECK_EQ_INT(parse_n(&a, "9007199254740993", 16, NULL, &v, &eb), LTD_OK);
    CHECK(v->type == CJSON_INT && v->num == 9007199254740992.0); /* nearest double */
    CHECK_EQ_INT(parse_n(&a, "-42", 3, NULL, &v, &eb), LTD_OK);
    CHECK(v->type == CJSON_INT && v->num == -42.0 && strcmp(v->str, "-42") == 0);
    CHECK_EQ_INT(parse_n(&a, "12345678901234567890123", 23, NULL, &v, &eb), LTD_OK);
    CHECK(v->num == 12345678901234567890123.0);
    CHECK_EQ_INT(parse_n(&a, "1.0", 3, NULL, &v, &eb), LTD_OK);
    CHECK(v->type == CJSON_FLOAT && v->num == 1.0 && strcmp(v->str, "1.0") == 0);
    /* A 400-digit integer is valid JSON and survives as text. */
    char big[402];
    big[0] = '1';
    memset(big + 1, '0', 399);
    big[400] = 0;
    CHECK_EQ_INT(parse_n(&a, big, 400, NULL, &v, &eb), LTD_OK);
    CHECK(v->type == CJSON_INT && v->len == 400 && memcmp(v->str, big, 400) == 0);
    cases_pos += 7;
    arena_release(&a);
}

/* ---- positive: strings ---- */

static void
test_escapes(void)
{
    /* Every byte 0x00-0x1F, given as \u00XX (raw ones are rejected). */
    for (int c = 0; c < 0x20; c++) {
        char in[16], want[16];
        snprintf(in, sizeof in, "\"\\u%04x\"", c);
        switch (c) {
        case '\b':
            snprintf(want, sizeof want, "\"\\b\"");
            break;
        case '\t':
            snprintf(want, sizeof want, "\"\\t\"");
            break;
        case '\n':
            snprintf(want, sizeof want, "\"\\n\"");
            break;
        case '\f':
            snprintf(want, sizeof want, "\"\\f\"");
            break;
        case '\r':
            snprintf(want, sizeof want, "\"\\r\"");
            break;
        default:
            snprintf(want, sizeof want, "\"\\u%04X\"", c);
        }
        canon_is(in, strlen(in), want);
    }
    CANON("\"\\u001f\\u000b\\u0000\"", "\"\\u001F\\u000B\\u0000\"");
    CANON("\"\\\"\\\\\\/\"", "\"\\\"\\\\/\""); /* \" \\ \/ -> \" \\ / */
    CANON("\"a/b\"", "\"a/b\"");
    CANON("\"\x7f\"", "\"\x7f\"");
    CANON("\"\\u007f\"", "\"\x7f\"");
    CANON("\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
    CANON("\"\xe2\x80\xa8\"", "\"\xe2\x80\xa8\"");
    CANON("\"\\b\\f\\n\\r\\t\"", "\"\\b\\f\\n\\r\\t\"");
    CANON("\"\\u0041\\u00e9\\u4E2D\"", "\"A\xc3\xa9\xe4\xb8\xad\"");
    CANON("\"plain ascii text that is long enough for the 8-byte scan\"",
          "\"plain ascii text that is long enough for the 8-byte scan\"");
    CANON("\"12345678\\\"12345678\\\\12345678\"", "\"12345678\\\"12345678\\\\12345678\"");
    /* The writer escapes raw control bytes in built strings too. */
    struct arena a;
    arena_init(&a);
    char all[0x22];
    for (int c = 0; c < 0x20; c++)
        all[c] = (char)c;
    all[0x20] = '"';
    all[0x21] = '\\';
    struct buf b;
    buf_init(&b);
    cjson_canonical(cjson_new_string(&a, all, sizeof all), &b);
    CHECK_EQ_STR(b.p, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                      "\\u000B\\f\\r\\u000E\\u000F\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015"
                      "\\u0016\\u0017\\u0018\\u0019\\u001A\\u001B\\u001C\\u001D\\u001E\\u001F"
                      "\\\"\\\\\"");
    buf_release(&b);
    arena_release(&a);
    cases_pos++;
}

/* cjson_parse_canon: the verdict on spellings of one value, and where
 * each parsed value starts. */
static bool
is_canonical(const char *in)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *root;
    arena_init(&a);
    bool canonical = false;
    CHECK_EQ_INT(cjson_parse_canon(&a, in, strlen(in), NULL, &root, &canonical, &eb), LTD_OK);
    arena_release(&a);
    return canonical;
}

static void
test_canonical_verdict(void)
{
    static const char *const yes[] = {
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"\":\"\\u001F\\n\"}}",
        "\"\\\"\\\\\"",
        "-1",
        "0",
        "1.5",
        "1e+16",
        "1e-05",
        "100000.0",
        "[]",
        "{}",
        "{\"A\":0,\"a\":0,\"ab\":0,\"b\":0}",
        "\"\xe8\xae\xb2\xe5\xba\xa7\"",
    };
    static const char *const no[] = {
        " 1",
        "1 ",
        "[1, 2]",
        "{\"a\": 1}",
        "{\"b\":0,\"a\":0}",
        "{\"ab\":0,\"a\":0}",
        "\"\\/\"",
        "\"\\u0041\"",
        "\"\\u000a\"",
        "\"\\u001f\"",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "-0",
        "1.50",
        "1E+16",
        "1e16",
        "0.00001",
        "1e5",
        "[\n]",
    };
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        CHECK(is_canonical(yes[i]));
        cases_pos++;
    }
    for (size_t i = 0; i < ARRAY_LEN(no); i++) {
        if (is_canonical(no[i]))
            fprintf(stderr, "  %s: called canonical\n", no[i]);
        CHECK(!is_canonical(no[i]));
        cases_neg++;
    }
    /* every byte the writer may write in a string, alone and inside a run
     * long enough for the 8-byte scan: its canonical text reads as such */
    for (int c = 0; c < 128; c++) {
        char one[1] = {(char)c};
        char run[20];
        memcpy(run, "abcdefghij", 10);
        run[10] = (char)c;
        memcpy(run + 11, "klmnopqrs", 9);
        struct arena sa;
        arena_init(&sa);
        struct buf b1, b2;
        buf_init(&b1);
        buf_init(&b2);
        cjson_canonical(cjson_new_string(&sa, one, 1), &b1);
        cjson_canonical(cjson_new_string(&sa, run, sizeof run), &b2);
        CHECK(is_canonical(b1.p));
        CHECK(is_canonical(b2.p));
        cases_pos += 2;
        buf_release(&b2);
        buf_release(&b1);
        arena_release(&sa);
    }
    /* a failed parse is never canonical */
    struct arena a;
    struct cjson *root;
    arena_init(&a);
    bool canonical = true;
    CHECK(cjson_parse_canon(&a, "{\"a\":1,\"a\":1}", 13, NULL, &root, &canonical, NULL) ==
          LTD_E_JSON_DUP_KEY);
    CHECK(!canonical);
    cases_neg++;
    /* offsets */
    const char *t = "{\"a\":[1,\"x\",{\"b\":null}],\"c\":true}";
    CHECK_EQ_INT(cjson_parse_canon(&a, t, strlen(t), NULL, &root, &canonical, NULL), LTD_OK);
    CHECK(canonical);
    const struct cjson *arr = cjson_get(root, "a");
    CHECK_EQ_INT(root->at, 0);
    CHECK_EQ_INT(arr->at, 5);
    CHECK_EQ_INT(arr->items[0]->at, 6);
    CHECK_EQ_INT(arr->items[1]->at, 8);
    CHECK_EQ_INT(arr->items[2]->at, 12);
    CHECK_EQ_INT(cjson_get(arr->items[2], "b")->at, 17);
    CHECK_EQ_INT(cjson_get(root, "c")->at, 28);
    cases_pos++;
    arena_release(&a);
}

static void
test_utf8(void)
{
    CANON("\"\xe4\xb8\xad\xe6\x96\x87\"", "\"\xe4\xb8\xad\xe6\x96\x87\""); /* 中文 */
    CANON("\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"");                 /* 😀 raw */
    CANON("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");                   /* 😀 escaped */
    CANON("\"\\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80\"");
    CANON("\"\\udbff\\udfff\"", "\"\xf4\x8f\xbf\xbf\"");                   /* U+10FFFF */
    CANON("\"\\ud800\\udc00\"", "\"\xf0\x90\x80\x80\"");                   /* U+10000 */
    CANON("\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"");                 /* U+10FFFF raw */
    CANON("\"\xf0\x90\x80\x80\"", "\"\xf0\x90\x80\x80\"");                 /* U+10000 raw */
    CANON("\"\xc2\x80\xdf\xbf\"", "\"\xc2\x80\xdf\xbf\"");                 /* U+0080, U+07FF */
    CANON("\"\xe0\xa0\x80\xef\xbf\xbf\"", "\"\xe0\xa0\x80\xef\xbf\xbf\""); /* U+0800, U+FFFF */
    CANON("\"\xed\x9f\xbf\xee\x80\x80\"", "\"\xed\x9f\xbf\xee\x80\x80\""); /* U+D7FF, U+E000 */
    CANON("\"\xef\xbb\xbf\"", "\"\xef\xbb\xbf\""); /* a BOM inside a string is a character */
    CANON("{\"\xe4\xb8\xad\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80 mixed \xc3\xa9\"}",
          "{\"\xe4\xb8\xad\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80 mixed \xc3\xa9\"}");
    CANON("\"\\u0000\"", "\"\\u0000\"");
}

/* ---- positive: objects ---- */

static void
test_key_order(void)
{
    CANON("{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}");
    CANON("{\"ab\":1,\"a\":2,\"\":3}", "{\"\":3,\"a\":2,\"ab\":1}");
    CANON("{\"a\":1,\"B\":2,\"_\":3,\"0\":4}", "{\"0\":4,\"B\":2,\"_\":3,\"a\":1}");
    /* 😀 (F0..) vs ｡ (U+FF61, EF BD A1): byte order puts ｡ first. */
    CANON("{\"\xf0\x9f\x98\x80\":1,\"\xef\xbd\xa1\":2}",
          "{\"\xef\xbd\xa1\":2,\"\xf0\x9f\x98\x80\":1}");
    CANON("{\"\\ud83d\\ude00\":1,\"\\uff61\":2}", "{\"\xef\xbd\xa1\":2,\"\xf0\x9f\x98\x80\":1}");
    CANON("{\"\xc3\xa9\":1,\"z\":2}", "{\"z\":2,\"\xc3\xa9\":1}"); /* non-ASCII after ASCII */
    /* Keys with NUL: "a" < "a\0" < "a\0b" < "b". */
    CANON("{\"a\\u0000b\":1,\"b\":4,\"a\":2,\"a\\u0000\":3}",
          "{\"a\":2,\"a\\u0000\":3,\"a\\u0000b\":1,\"b\":4}");
    CANON("{\"a\\u0000b\":1,\"a\\u0000c\":2}", "{\"a\\u0000b\":1,\"a\\u0000c\":2}");
    /* Nested objects are sorted too; arrays keep their order. */
    CANON(" { \"z\" : [ 3 , 1 , { \"y\" : 1 , \"x\" : 2 } ] , \"a\" : { } , \"m\" : [ ] } ",
          "{\"a\":{},\"m\":[],\"z\":[3,1,{\"x\":2,\"y\":1}]}");
    /* More members than the insertion-sort threshold (qsort path). */
    CANON("{\"t\":0,\"s\":0,\"r\":0,\"q\":0,\"p\":0,\"o\":0,\"n\":0,\"m\":0,\"l\":0,\"k\":0,"
          "\"j\":0,\"i\":0,\"h\":0,\"g\":0,\"f\":0,\"e\":0,\"d\":0,\"c\":0,\"b\":0,\"a\":0}",
          "{\"a\":0,\"b\":0,\"c\":0,\"d\":0,\"e\":0,\"f\":0,\"g\":0,\"h\":0,\"i\":0,\"j\":0,"
          "\"k\":0,\"l\":0,\"m\":0,\"n\":0,\"o\":0,\"p\":0,\"q\":0,\"r\":0,\"s\":0,\"t\":0}");
    CANON("[true,false,null]", "[true,false,null]");
    CANON("\t\r\n null \t\r\n", "null");
}

static void
test_lookups(void)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *v;
    arena_init(&a);
    const char in[] = "{\"b\":[10,\"x\"],\"a\\u0000b\":1,\"a\":\"s\",\"c\":\"a\\u0000b\"}";
    CHECK_EQ_INT(parse_n(&a, in, sizeof in - 1, NULL, &v, &eb), LTD_OK);
    cases_pos++;
    CHECK(v->type == CJSON_OBJECT && v->len == 4);
    CHECK(cjson_string_eq(cjson_get(v, "a"), "s"));
    CHECK(cjson_get(v, "b") != NULL && cjson_get(v, "b")->type == CJSON_ARRAY);
    CHECK(cjson_get(v, "zz") == NULL);
    CHECK(cjson_get(v, "") == NULL);
    CHECK(cjson_get(v, "ab") == NULL);
    CHECK(cjson_get(cjson_get(v, "b"), "a") == NULL); /* not an object */
    CHECK(cjson_get(NULL, "a") == NULL);
    CHECK(cjson_at(cjson_get(v, "b"), 0)->type == CJSON_INT);
    CHECK(cjson_string_eq(cjson_at(cjson_get(v, "b"), 1), "x"));
    CHECK(cjson_at(cjson_get(v, "b"), 2) == NULL);
    CHECK(cjson_at(v, 0) == NULL); /* not an array */
    CHECK(cjson_at(NULL, 0) == NULL);
    /* "a\0b" is stored with klen 3 and never matches the C string "a". */
    CHECK(v->members[1].klen == 3 && memcmp(v->members[1].key, "a\0b", 4) == 0);
    /* A string with a NUL is not equal to its prefix. */
    CHECK(cjson_is_string(cjson_get(v, "c")));
    CHECK(!cjson_string_eq(cjson_get(v, "c"), "a"));
    CHECK(!cjson_string_eq(cjson_get(v, "b"), "a"));
    CHECK(!cjson_is_string(NULL));
    CHECK(cjson_get(&cjson_null_value, "a") == NULL);
    arena_release(&a);
}

static char *
canon_tree(const struct cjson *v)
{
    struct buf b;
    buf_init(&b);
    cjson_canonical(v, &b);
    return buf_detach(&b, NULL);
}

static void
test_builders(void)
{
    struct arena a;
    arena_init(&a);
    struct cjson *o = cjson_new_object(&a);
    cjson_obj_set(&a, o, "zeta", cjson_new_int(&a, INT64_MIN));
    cjson_obj_set(&a, o, "alpha", cjson_new_int(&a, INT64_MAX));
    cjson_obj_set(&a, o, "mid", cjson_new_stringz(&a, "v\n"));
    cjson_obj_set(&a, o, "b", cjson_new_bool(&a, true));
    cjson_obj_set(&a, o, "c", cjson_new_bool(&a, false));
    cjson_obj_set(&a, o, "n", cjson_new_null(&a));
    cjson_obj_set(&a, o, "mid", cjson_new_string(&a, "x\0y", 3)); /* replaces */
    struct cjson *arr = cjson_new_array(&a);
    for (int k = 0; k < 100; k++)
        cjson_arr_push(&a, arr, cjson_new_int(&a, k - 50));
    cjson_obj_set(&a, o, "arr", arr);
    cjson_obj_set(&a, o, "nul", &cjson_null_value);
    char *s = canon_tree(o);
    CHECK(STARTS(s, "{\"alpha\":9223372036854775807,\"arr\":[-50,-49,"));
    CHECK(strstr(s, ",48,49],\"b\":true,\"c\":false,\"mid\":\"x\\u0000y\",\"n\":null,"
                    "\"nul\":null,\"zeta\":-9223372036854775808}") != NULL);
    CHECK_EQ_INT(o->len, 8);
    CHECK_EQ_INT(arr->len, 100);
    CHECK(cjson_at(arr, 99)->num == 49.0);
    /* The clone is deep: changing it leaves the original alone. */
    struct cjson *c = cjson_clone(&a, o);
    cjson_obj_set(&a, c, "alpha", cjson_new_stringz(&a, "changed"));
    cjson_obj_set(&a, c, "aa", cjson_new_array(&a));
    char *s2 = canon_tree(o);
    CHECK_EQ_STR(s2, s);
    char *s3 = canon_tree(c);
    CHECK(STARTS(s3, "{\"aa\":[],\"alpha\":\"changed\",\"arr\":[-50,"));
    CHECK(cjson_get(c, "arr") != cjson_get(o, "arr"));
    free(s);
    free(s2);
    free(s3);
    /* A FLOAT node without text is formatted from num. */
    struct cjson *f = cjson_new_null(&a);
    f->type = CJSON_FLOAT;
    f->num = 1e-5;
    s = canon_tree(f);
    CHECK_EQ_STR(s, "1e-05");
    free(s);
    s = canon_tree(&cjson_null_value);
    CHECK_EQ_STR(s, "null");
    free(s);
    s = canon_tree(cjson_new_object(&a));
    CHECK_EQ_STR(s, "{}");
    free(s);
    CHECK(cjson_limits_default.bytes_max == json_bytes_max);
    CHECK(cjson_limits_default.depth_max == json_depth_max);
    CHECK(cjson_limits_default.string_bytes_max == json_string_bytes_max);
    CHECK(cjson_limits_default.members_max == json_members_max);
    /* Canonical output appends to what the buffer holds. */
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "x=");
    cjson_canonical(cjson_new_int(&a, 7), &b);
    CHECK_EQ_STR(b.p, "x=7");
    cjson_float_repr(0.5, &b);
    CHECK_EQ_STR(b.p, "x=70.5");
    buf_release(&b);
    arena_release(&a);
    cases_pos++;
}

/* ---- positive: the §6.4 CREATE and the round-trip property ---- */

static void
test_create_example(void)
{
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *tx;
    arena_init(&a);
    CHECK_EQ_INT(parse_n(&a, create_signed, sizeof create_signed - 1, NULL, &tx, &eb), LTD_OK);
    cases_pos++;
    CHECK(cjson_string_eq(cjson_get(tx, "operation"), "CREATE"));
    CHECK(cjson_string_eq(cjson_get(cjson_at(cjson_get(tx, "outputs"), 0), "amount"), "1"));
    cjson_obj_set(&a, tx, "id", cjson_new_null(&a));
    char *pre = canon_tree(tx);
    CHECK_EQ_STR(pre, create_preimage);
    struct cjson *in0 = cjson_at(cjson_get(tx, "inputs"), 0);
    CHECK(in0 != NULL);
    cjson_obj_set(&a, in0, "fulfillment", &cjson_null_value);
    char *u = canon_tree(tx);
    CHECK_EQ_STR(u, create_u);
    CHECK_EQ_INT(strlen(u), sizeof create_u - 1);
    free(pre);
    free(u);
    arena_release(&a);
}

static const char *const samples[] = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "\"\"",
    "[]",
    "{}",
    "[[[[[]]]]]",
    "{\"a\":{\"b\":{\"c\":{}}}}",
    "[1,-2.5e-9,3e300,\"x\",null,true,{\"k\":[false]}]",
    "{\"\xf0\x9f\x98\x80\":1,\"\xef\xbd\xa1\":2,\"a\\u0000\":3,\"a\":4}",
    "\"\\u0001\\u001f\\\"\\\\/\x7f\xe2\x80\xa8\"",
    "{\"amount\":\"9000000000000000000\",\"n\":123456789012345678901234567890}",
    "[0.1,0.2,0.30000000000000004,1e-07,1e+16,100.0,-0.0,5e-324]",
    "{\"asset\":{\"data\":{\"msg\":\"Hello BigchainDB!\"}},\"metadata\":null}",
};

static void
test_roundtrip(void)
{
    for (size_t k = 0; k < ARRAY_LEN(samples) + 1; k++) {
        const char *x = k < ARRAY_LEN(samples) ? samples[k] : create_signed;
        enum ltd_err c1, c2;
        char *once = canon_n(x, strlen(x), &c1);
        CHECK_EQ_INT(c1, LTD_OK);
        if (once == NULL)
            continue;
        char *twice = canon_n(once, strlen(once), &c2);
        CHECK_EQ_INT(c2, LTD_OK);
        CHECK_EQ_STR(twice, once);
        free(once);
        free(twice);
        cases_pos++;
    }
}

/* ---- negative: each error code ---- */

static void
test_bad_utf8(void)
{
    FAILS("\"\xc0\x80\"", LTD_E_JSON_UTF8);                 /* overlong NUL */
    FAILS("\"\xc1\xbf\"", LTD_E_JSON_UTF8);                 /* overlong */
    FAILS("\"\xe0\x80\x80\"", LTD_E_JSON_UTF8);             /* overlong 3-byte */
    FAILS("\"\xe0\x9f\xbf\"", LTD_E_JSON_UTF8);             /* overlong U+07FF */
    FAILS("\"\xed\xa0\x80\"", LTD_E_JSON_UTF8);             /* U+D800 encoded */
    FAILS("\"\xed\xbf\xbf\"", LTD_E_JSON_UTF8);             /* U+DFFF encoded */
    FAILS("\"\xed\xa0\xbd\xed\xb8\x80\"", LTD_E_JSON_UTF8); /* CESU-8 😀 */
    FAILS("\"\xf0\x80\x80\x80\"", LTD_E_JSON_UTF8);         /* overlong 4-byte */
    FAILS("\"\xf0\x8f\xbf\xbf\"", LTD_E_JSON_UTF8);         /* overlong U+FFFF */
    FAILS("\"\xf4\x90\x80\x80\"", LTD_E_JSON_UTF8);         /* U+110000 */
    FAILS("\"\xf5\x80\x80\x80\"", LTD_E_JSON_UTF8);
    FAILS("\"\xf8\x88\x80\x80\x80\"", LTD_E_JSON_UTF8); /* 5-byte form */
    FAILS("\"\xff\"", LTD_E_JSON_UTF8);
    FAILS("\"\xfe\"", LTD_E_JSON_UTF8);
    FAILS("\"\x80\"", LTD_E_JSON_UTF8); /* lone continuation */
    FAILS("\"\xbf\"", LTD_E_JSON_UTF8);
    FAILS("\"\xc3\"", LTD_E_JSON_UTF8); /* truncated before the quote */
    FAILS("\"\xe4\xb8\"", LTD_E_JSON_UTF8);
    FAILS("\"\xf0\x9f\x98\"", LTD_E_JSON_UTF8);
    FAILS("\"\xc3\x28\"", LTD_E_JSON_UTF8); /* bad continuation */
    FAILS("\"\xe4\x28\xad\"", LTD_E_JSON_UTF8);
    FAILS("\"\xf0\x9f\x28\x80\"", LTD_E_JSON_UTF8);
    FAILS("\"\xf0\x9f\x98", LTD_E_JSON_UTF8); /* truncated at end of input */
    FAILS("\"\xe4", LTD_E_JSON_UTF8);
    FAILS("{\"\xc0\xaf\":1}", LTD_E_JSON_UTF8); /* in a key */
    FAILS("[\"ok\",\"bad \xed\xa0\x80 here, after eight clean bytes\"]", LTD_E_JSON_UTF8);
    /* Non-ASCII outside strings is not JSON at all. */
    FAILS("\xef\xbb\xbf{}", LTD_E_JSON_SYNTAX); /* BOM */
    FAILS("[1,\xc3\xa9]", LTD_E_JSON_SYNTAX);
}

static void
test_bad_surrogates(void)
{
    FAILS("\"\\ud800\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\udc00\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\ud800\\u0041\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\udbff\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\udfff\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\ude00\\ud83d\"", LTD_E_JSON_SURROGATE); /* mis-ordered pair */
    FAILS("\"\\ud800\\ud800\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\ud83dx\\ude00\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\ud83d\\n\"", LTD_E_JSON_SURROGATE);
    FAILS("\"\\ud83d\\\\\"", LTD_E_JSON_SURROGATE); /* followed by \\ */
    FAILS("\"abc\\ud83d\"", LTD_E_JSON_SURROGATE);
    FAILS("{\"\\udc00\":1}", LTD_E_JSON_SURROGATE);
    FAILS("[\"\\ud83d\\ude00\",\"\\ude00\"]", LTD_E_JSON_SURROGATE);
}

static void
test_bad_control(void)
{
    for (int c = 0; c < 0x20; c++) {
        char in[4] = {'"', (char)c, '"', 0};
        fails_lim(in, 3, NULL, LTD_E_JSON_CONTROL);
    }
    FAILS("{\"a\tb\":1}", LTD_E_JSON_CONTROL);
    FAILS("[\"line\nbreak\"]", LTD_E_JSON_CONTROL);
    FAILS("\"0123456789abcdef\x1f\"", LTD_E_JSON_CONTROL);
}

static void
test_bad_numbers(void)
{
    FAILS("01", LTD_E_JSON_NUMBER);
    FAILS("-01", LTD_E_JSON_NUMBER);
    FAILS("00", LTD_E_JSON_NUMBER);
    FAILS("[007]", LTD_E_JSON_NUMBER);
    FAILS("-", LTD_E_JSON_NUMBER);
    FAILS("[-]", LTD_E_JSON_NUMBER);
    FAILS("--1", LTD_E_JSON_NUMBER);
    FAILS("- 1", LTD_E_JSON_NUMBER);
    FAILS("1.", LTD_E_JSON_NUMBER);
    FAILS("[1.]", LTD_E_JSON_NUMBER);
    FAILS("1.e5", LTD_E_JSON_NUMBER);
    FAILS(".5", LTD_E_JSON_NUMBER);
    FAILS("-.5", LTD_E_JSON_NUMBER);
    FAILS("1e", LTD_E_JSON_NUMBER);
    FAILS("1e+", LTD_E_JSON_NUMBER);
    FAILS("1E-", LTD_E_JSON_NUMBER);
    FAILS("[1e]", LTD_E_JSON_NUMBER);
    FAILS("+1", LTD_E_JSON_NUMBER);
    FAILS("[+1]", LTD_E_JSON_NUMBER);
    FAILS("NaN", LTD_E_JSON_NUMBER);
    FAILS("[NaN]", LTD_E_JSON_NUMBER);
    FAILS("Infinity", LTD_E_JSON_NUMBER);
    FAILS("-Infinity", LTD_E_JSON_NUMBER);
    FAILS("{\"a\":Infinity}", LTD_E_JSON_NUMBER);
    FAILS("1e400", LTD_E_JSON_NUMBER);
    FAILS("-1e400", LTD_E_JSON_NUMBER);
    FAILS("[1.5e999]", LTD_E_JSON_NUMBER);
    FAILS("1.8e308", LTD_E_JSON_NUMBER);
    FAILS("-", LTD_E_JSON_NUMBER);
    FAILS("[0x10]", LTD_E_JSON_SYNTAX);
    FAILS("0x10", LTD_E_JSON_TRAILING);
    FAILS("1.5.2", LTD_E_JSON_TRAILING);
    FAILS("[1e5e5]", LTD_E_JSON_SYNTAX);
    FAILS("[1,nan]", LTD_E_JSON_SYNTAX);
    FAILS("[inf]", LTD_E_JSON_SYNTAX);
}

static void
test_bad_syntax(void)
{
    FAILS("", LTD_E_JSON_SYNTAX);
    FAILS("   \n\t ", LTD_E_JSON_SYNTAX);
    FAILS("[", LTD_E_JSON_SYNTAX);
    FAILS("]", LTD_E_JSON_SYNTAX);
    FAILS("{", LTD_E_JSON_SYNTAX);
    FAILS("}", LTD_E_JSON_SYNTAX);
    FAILS("[1,]", LTD_E_JSON_SYNTAX);
    FAILS("[,1]", LTD_E_JSON_SYNTAX);
    FAILS("[1 2]", LTD_E_JSON_SYNTAX);
    FAILS("[1;2]", LTD_E_JSON_SYNTAX);
    FAILS("[1}", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\":1]", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\"}", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\":}", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\":1,}", LTD_E_JSON_SYNTAX);
    FAILS("{,}", LTD_E_JSON_SYNTAX);
    FAILS("{1:2}", LTD_E_JSON_SYNTAX);
    FAILS("{'a':1}", LTD_E_JSON_SYNTAX);
    FAILS("{a:1}", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\" 1}", LTD_E_JSON_SYNTAX);
    FAILS("{\"a\"::1}", LTD_E_JSON_SYNTAX);
    FAILS("tru", LTD_E_JSON_SYNTAX);
    FAILS("nul", LTD_E_JSON_SYNTAX);
    FAILS("True", LTD_E_JSON_SYNTAX);
    FAILS("NULL", LTD_E_JSON_SYNTAX);
    FAILS("'a'", LTD_E_JSON_SYNTAX);
    FAILS("\"abc", LTD_E_JSON_SYNTAX);
    FAILS("\"abc\\\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\", LTD_E_JSON_SYNTAX);
    FAILS("\"\\x41\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\a\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\U0041\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\u12\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\u12G4\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\u\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\\x01\"", LTD_E_JSON_SYNTAX);
    FAILS("\"\\\xc3\xa9\"", LTD_E_JSON_UTF8); /* the byte after '\' is a lead byte */
    FAILS("/*c*/1", LTD_E_JSON_SYNTAX);
    FAILS("\x00", LTD_E_JSON_SYNTAX);
    FAILS("[\x00]", LTD_E_JSON_SYNTAX);
    FAILS("\x0c{}", LTD_E_JSON_SYNTAX); /* form feed is not JSON whitespace */
    FAILS("\xa0{}", LTD_E_JSON_SYNTAX);
}

static void
test_trailing(void)
{
    FAILS("1 2", LTD_E_JSON_TRAILING);
    FAILS("{} {}", LTD_E_JSON_TRAILING);
    FAILS("[]]", LTD_E_JSON_TRAILING);
    FAILS("nullx", LTD_E_JSON_TRAILING);
    FAILS("falsee", LTD_E_JSON_TRAILING);
    FAILS("\"a\"\"b\"", LTD_E_JSON_TRAILING);
    FAILS("1,", LTD_E_JSON_TRAILING);
    FAILS("{}\x00", LTD_E_JSON_TRAILING);
    FAILS("{} // comment", LTD_E_JSON_TRAILING);
    CANON("1 \n", "1");
}

static void
test_dup_keys(void)
{
    FAILS("{\"a\":1,\"a\":2}", LTD_E_JSON_DUP_KEY);
    FAILS("{\"a\":1,\"b\":2,\"a\":3}", LTD_E_JSON_DUP_KEY);
    FAILS("{\"a\":1,\"\\u0061\":2}", LTD_E_JSON_DUP_KEY);
    FAILS("{\"a\\u0000b\":1,\"a\\u0000b\":2}", LTD_E_JSON_DUP_KEY);
    FAILS("{\"\":1,\"\":2}", LTD_E_JSON_DUP_KEY);
    FAILS("{\"x\":{\"id\":1,\"id\":null}}", LTD_E_JSON_DUP_KEY);
    FAILS("[{},{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}]", LTD_E_JSON_DUP_KEY);
    FAILS("{\"t\":0,\"s\":0,\"r\":0,\"q\":0,\"p\":0,\"o\":0,\"n\":0,\"m\":0,\"l\":0,\"k\":0,"
          "\"j\":0,\"i\":0,\"h\":0,\"g\":0,\"f\":0,\"e\":0,\"d\":0,\"c\":0,\"b\":0,\"t\":0}",
          LTD_E_JSON_DUP_KEY); /* qsort path */
    char msg[errmsg_bytes_max];
    message_of("{\"id\":1, \"id\":2}", msg, sizeof msg);
    CHECK(strstr(msg, "duplicate key \"id\"") != NULL);
    CHECK(strncmp(msg, "at byte 9:", 10) == 0); /* the second occurrence */
    message_of("{\"a\\u0000b\":1,\"a\\u0000b\":2}", msg, sizeof msg);
    CHECK(strstr(msg, "\"a\\u0000b\"") != NULL);
}

/* Exhaustive small spaces: every single byte as a document, every escape
 * letter, every byte that can never start a UTF-8 sequence. */
static void
test_exhaustive_bytes(void)
{
    for (int c = 0; c < 256; c++) {
        char in[1] = {(char)c};
        if (c >= '0' && c <= '9') {
            char want[2] = {(char)c, 0};
            canon_is(in, 1, want);
        } else if (c == '-' || c == '+' || c == '.') {
            fails_lim(in, 1, NULL, LTD_E_JSON_NUMBER);
        } else {
            fails_lim(in, 1, NULL, LTD_E_JSON_SYNTAX);
        }
    }
    for (int c = 0x20; c < 0x7f; c++) {
        if (strchr("\"\\/bfnrtu", c) != NULL)
            continue;
        char in[5] = {'"', '\\', (char)c, '"', 0};
        fails_lim(in, 4, NULL, LTD_E_JSON_SYNTAX);
    }
    for (int c = 0x80; c < 0x100; c++) {
        if (c >= 0xc2 && c <= 0xf4)
            continue; /* lead bytes; their sequences are tested above */
        char in[4] = {'"', (char)c, '"', 0};
        fails_lim(in, 3, NULL, LTD_E_JSON_UTF8);
    }
}

/* A buffer of n copies of unit, then tail (caller frees). */
static char *
repeat(const char *unit, size_t n, const char *tail, size_t *len)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *p = malloc(u * n + t + 1);
    for (size_t k = 0; k < n; k++)
        memcpy(p + k * u, unit, u);
    memcpy(p + u * n, tail, t + 1);
    *len = u * n + t;
    return p;
}

static void
test_depth(void)
{
    size_t n;
    uint64_t t0 = ltd_mono_ns();
    char *p = repeat("[", 100000, "", &n);
    fails_lim(p, n, NULL, LTD_E_JSON_DEPTH);
    free(p);
    p = repeat("{\"a\":", 100000, "", &n);
    fails_lim(p, n, NULL, LTD_E_JSON_DEPTH);
    free(p);
    p = repeat("[{\"a\":", 100000, "1", &n);
    fails_lim(p, n, NULL, LTD_E_JSON_DEPTH);
    free(p);
    CHECK(ltd_mono_ns() - t0 < 1000000000u); /* fails fast, long before the end */
    /* Exactly depth_max is fine, one more is not. */
    char *open = repeat("[", json_depth_max, "", &n);
    char *close = repeat("]", json_depth_max, "", &n);
    char *doc = malloc(2 * n + 3);
    snprintf(doc, 2 * n + 3, "%s%s", open, close);
    canon_is(doc, 2 * n, doc);
    snprintf(doc, 2 * n + 3, "[%s%s]", open, close);
    fails_lim(doc, 2 * n + 2, NULL, LTD_E_JSON_DEPTH);
    free(open);
    free(close);
    free(doc);
    struct cjson_limits lim = cjson_limits_default;
    lim.depth_max = 2;
    fails_lim("[[[1]]]", 7, &lim, LTD_E_JSON_DEPTH);
    fails_lim("{\"a\":{\"b\":{}}}", 14, &lim, LTD_E_JSON_DEPTH);
    fails_lim("[{\"a\":[]}]", 10, &lim, LTD_E_JSON_DEPTH);
    lim.depth_max = 0;
    fails_lim("[]", 2, &lim, LTD_E_JSON_DEPTH);
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *v;
    arena_init(&a);
    lim.depth_max = 2;
    CHECK_EQ_INT(parse_n(&a, "[[1],{\"a\":[]}]", 14, &lim, &v, &eb), LTD_E_JSON_DEPTH);
    CHECK_EQ_INT(parse_n(&a, "[[1],{\"a\":2}]", 13, &lim, &v, &eb), LTD_OK);
    lim.depth_max = 0;
    CHECK_EQ_INT(parse_n(&a, "\"scalar\"", 8, &lim, &v, &eb), LTD_OK);
    cases_neg++;
    cases_pos += 2;
    arena_release(&a);
}

static void
test_sizes(void)
{
    size_t n = 10u * 1024 * 1024, len;
    char *p = malloc(n + 2);
    p[0] = '"';
    memset(p + 1, 'x', n - 2);
    p[n - 1] = '"';
    fails_lim(p, n, NULL, LTD_E_JSON_STRING_LONG);
    struct cjson_limits lim = cjson_limits_default;
    lim.bytes_max = 1024 * 1024;
    fails_lim(p, n, &lim, LTD_E_JSON_TOO_LARGE);
    lim.bytes_max = n - 1;
    fails_lim(p, n, &lim, LTD_E_JSON_TOO_LARGE);
    p[n / 2] = '\n'; /* STRING_LONG is not reported before an earlier error... */
    fails_lim(p, n, NULL, LTD_E_JSON_CONTROL);
    p[n / 2] = 'x';
    p[n - 1] = 'x'; /* ...and TOO_LARGE is checked before anything is parsed */
    fails_lim(p, n, &lim, LTD_E_JSON_TOO_LARGE);
    free(p);
    lim = cjson_limits_default;
    lim.string_bytes_max = 8;
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *v;
    arena_init(&a);
    CHECK_EQ_INT(parse_n(&a, "\"12345678\"", 10, &lim, &v, &eb), LTD_OK);
    CHECK_EQ_INT(parse_n(&a, "\"\\u0041\\u0041\\u0041\\u0041AAAA\"", 30, &lim, &v, &eb), LTD_OK);
    CHECK_EQ_INT(parse_n(&a, "{\"12345678\":1}", 14, &lim, &v, &eb), LTD_OK);
    CHECK_EQ_INT(parse_n(&a, "123456789012", 12, &lim, &v, &eb), LTD_E_JSON_NUMBER);
    cases_pos += 3;
    cases_neg++;
    arena_release(&a);
    fails_lim("\"123456789\"", 11, &lim, LTD_E_JSON_STRING_LONG);
    fails_lim("\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"", 32, &lim, LTD_E_JSON_STRING_LONG);
    fails_lim("{\"123456789\":1}", 15, &lim, LTD_E_JSON_STRING_LONG);
    fails_lim("[\"ok\",{\"k\":\"123456789\"}]", 24, &lim, LTD_E_JSON_STRING_LONG);
    lim = cjson_limits_default;
    lim.members_max = 3;
    fails_lim("[1,2,3,4]", 9, &lim, LTD_E_JSON_MEMBERS);
    fails_lim("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &lim, LTD_E_JSON_MEMBERS);
    fails_lim("[[],[],[[1,2,3,4]]]", 19, &lim, LTD_E_JSON_MEMBERS);
    arena_init(&a);
    CHECK_EQ_INT(parse_n(&a, "[1,2,[3,4,5]]", 13, &lim, &v, &eb), LTD_OK);
    cases_pos++;
    /* The default member limit, exactly and one over: "[0,0,...,0]". */
    char *doc = repeat(",0", json_members_max, "]", &len);
    doc[0] = '[';
    CHECK_EQ_INT(parse_n(&a, doc, len, NULL, &v, &eb), LTD_OK);
    CHECK(v != NULL && v->len == json_members_max);
    free(doc);
    doc = repeat(",0", json_members_max + 1, "]", &len);
    doc[0] = '[';
    fails_lim(doc, len, NULL, LTD_E_JSON_MEMBERS);
    free(doc);
    cases_pos++;
    cases_neg++;
    arena_release(&a);
}

static void
test_truncations(void)
{
    size_t n = sizeof create_signed - 1;
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        struct arena a;
        struct ltd_errbuf eb;
        struct cjson *v;
        arena_init(&a);
        enum ltd_err e = parse_n(&a, create_signed, k, NULL, &v, &eb);
        if (e == LTD_OK || e == LTD_E_JSON_DEPTH || e == LTD_E_JSON_UTF8)
            bad++;
        arena_release(&a);
        cases_neg++;
    }
    CHECK_EQ_INT(bad, 0);
    /* Every single-byte corruption fails cleanly or parses to something
     * that round-trips (e.g. a changed letter inside a string). */
    for (size_t k = 0; k < n; k++) {
        char *c = malloc(n);
        memcpy(c, create_signed, n);
        c[k] = (char)(c[k] ^ 0x5a);
        enum ltd_err e1, e2;
        char *once = canon_n(c, n, &e1);
        if (once) {
            char *twice = canon_n(once, strlen(once), &e2);
            CHECK(twice != NULL && strcmp(once, twice) == 0);
            free(twice);
        }
        free(once);
        free(c);
    }
}

static void
test_messages(void)
{
    char msg[errmsg_bytes_max];
    message_of("[1,]", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 3:", 10) == 0);
    message_of("  \"ab\xc0\x80\"", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 5:", 10) == 0);
    message_of("{\"a\":01}", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 5:", 10) == 0);
    message_of("[] x", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 3:", 10) == 0);
    message_of("", msg, sizeof msg);
    CHECK(strstr(msg, "at byte 0: unexpected end of input") != NULL);
    message_of("[\"\\ud800\"]", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 2:", 10) == 0);
    message_of("\"a\x01\"", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 2:", 10) == 0);
    message_of("[[[", msg, sizeof msg);
    CHECK(strncmp(msg, "at byte 3:", 10) == 0);
}

/* A rough timing of parse + canonical of the §6.4 CREATE (not a gate). */
static void
report_timing(void)
{
    enum { iterations = 20000 };
    struct arena a;
    struct buf b;
    struct ltd_errbuf eb;
    arena_init(&a);
    buf_init(&b);
    uint64_t t0 = ltd_mono_ns();
    for (int k = 0; k < iterations; k++) {
        struct cjson *v;
        if (cjson_parse(&a, create_signed, sizeof create_signed - 1, NULL, &v, &eb) != LTD_OK)
            break;
        buf_reset(&b);
        cjson_canonical(v, &b);
        arena_release(&a);
    }
    uint64_t dt = ltd_mono_ns() - t0;
    printf("cjson: parse+canonical of the %zu-byte CREATE: %.2f us/iteration (%d runs)\n",
           sizeof create_signed - 1, (double)dt / 1000.0 / iterations, (int)iterations);
    buf_release(&b);
    arena_release(&a);
}

int
main(void)
{
    RUN(test_float_table);
    RUN(test_float_repr);
    RUN(test_integers);
    RUN(test_escapes);
    RUN(test_canonical_verdict);
    RUN(test_utf8);
    RUN(test_key_order);
    RUN(test_lookups);
    RUN(test_builders);
    RUN(test_create_example);
    RUN(test_roundtrip);
    RUN(test_bad_utf8);
    RUN(test_bad_surrogates);
    RUN(test_bad_control);
    RUN(test_bad_numbers);
    RUN(test_bad_syntax);
    RUN(test_trailing);
    RUN(test_exhaustive_bytes);
    RUN(test_dup_keys);
    RUN(test_depth);
    RUN(test_sizes);
    RUN(test_truncations);
    RUN(test_messages);
    report_timing();
    printf("cjson: %d positive cases, %d negative cases\n", cases_pos, cases_neg);
    return test_report("cjson");
}
