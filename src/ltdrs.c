/*
 * ltdrs.c - LTDRS records: parsing and the rules of docs/ltdrs-records.md.
 *
 * Order of checks for one record: shape (BadRecord and field rules), then
 * who signed (NotAdmin / NotAllowed), then the state (duplicates, decided,
 * closed, ...).  A TRANSFER of a ticket asset is checked whatever its
 * metadata says: that is what makes tickets non-tradable.
 */
#include "ltdrs.h"

#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [LTDRS_NONE] = "none",
    [LTDRS_ROSTER] = "roster",
    [LTDRS_STUDENT] = "student",
    [LTDRS_UNBIND] = "unbind",
    [LTDRS_DEPARTMENT] = "department",
    [LTDRS_CERTIFY] = "certify",
    [LTDRS_APPLICATION] = "application",
    [LTDRS_DECISION] = "decision",
    [LTDRS_TICKET] = "ticket",
    [LTDRS_DISTRIBUTION] = "distribution",
    [LTDRS_RETURN] = "return",
    [LTDRS_REVOCATION] = "revocation",
    [LTDRS_CLOSE] = "close",
    [LTDRS_ANNOUNCEMENT] = "announcement",
};

const char *
ltdrs_kind_name(enum ltdrs_kind k)
{
    return (size_t)k < ARRAY_LEN(kind_names) ? kind_names[k] : "?";
}

/* ------------------------------------------------------------ helpers */

bool
ltdrs_sid_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ltdrs_sid_bytes_max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

void
ltdrs_code_hash(const char *sid, const char *code, uint8_t out[32])
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, sid);
    buf_addc(&b, ':');
    buf_adds(&b, code);
    struct ltd_hash h;
    codec_sha256(&h, b.p, b.len);
    memcpy(out, h.b, 32);
    codec_wipe(b.p, b.len);
    buf_release(&b);
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool
ltdrs_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec = 0, zh = 0, zm = 0;
    size_t n = strlen(s);
    if (n < 17 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi))
        return false;
    const char *p = s + 16;
    if (*p == ':') {
        if (!digits(p + 1, 2, &sec))
            return false;
        p += 3;
    }
    int sign = 0;
    if (p[0] == 'Z' && p[1] == 0) {
        sign = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && digits(p + 1, 2, &zh) &&
               p[3] == ':' && digits(p + 4, 2, &zm)) {
        sign = p[0] == '+' ? 1 : -1;
    } else {
        return false;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59 || zh > 14 || zm > 59)
        return false;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * 86400 + h * 3600 + mi * 60 + sec - sign * (zh * 3600 + zm * 60);
    return true;
}

void
ltdrs_normalize(const char *s, char *out, size_t cap)
{
    LTD_ASSERT(cap > 0);
    size_t o = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool ws = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) { /* U+3000 ideographic space */
            ws = true;
            p += 2;
        }
        if (ws) {
            space = o > 0;
            continue;
        }
        if (space && o + 1 < cap)
            out[o++] = ' ';
        space = false;
        if (o + 1 < cap)
            out[o++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    }
    out[o] = 0;
}

bool
ltdrs_ticket_condition(const struct cc_details *d, const struct ltd_pubkey *dept_key,
                       struct ltd_pubkey *student_key)
{
    if (d->type != CC_THRESHOLD || d->threshold != 2 || d->n_sub != 2)
        return false;
    const struct cc_details *a = d->sub[0], *b = d->sub[1];
    if (a->type != CC_ED25519 || b->type != CC_ED25519)
        return false;
    bool a_dept = memcmp(a->pubkey.b, dept_key->b, 32) == 0;
    bool b_dept = memcmp(b->pubkey.b, dept_key->b, 32) == 0;
    if (a_dept == b_dept) /* neither, or both the department */
        return false;
    *student_key = a_dept ? b->pubkey : a->pubkey;
    return true;
}

static bool
plain_key(const struct cc_details *d, const struct ltd_pubkey *k)
{
    return d->type == CC_ED25519 && memcmp(d->pubkey.b, k->b, 32) == 0;
}

/* ------------------------------------------------------------ parsing */

struct field {
    const char *name;
    char kind;    /* 's' string, 'i' integer, 'h' hex id, 'a' array, 'o' optional string */
    unsigned max; /* string bytes */
};

/* Checks that obj has exactly the listed fields (plus "ltdrs" and "v"),
 * each of the right type; optional ones may be absent. */
static enum ltd_err
check_fields(const struct cjson *obj, const struct field *f, size_t n, const char *kind,
             struct ltd_errbuf *eb)
{
    for (uint32_t m = 0; m < obj->len; m++) {
        const char *k = obj->members[m].key;
        bool known = strcmp(k, "ltdrs") == 0 || strcmp(k, "v") == 0;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(k, f[i].name) == 0 && strlen(k) == obj->members[m].klen;
        if (!known)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "%s record has an unknown field '%.40s'", kind,
                            k);
    }
    for (size_t i = 0; i < n; i++) {
        const struct cjson *v = cjson_get(obj, f[i].name);
        if (v == NULL) {
            if (f[i].kind == 'o')
                continue;
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "%s record needs '%s'", kind, f[i].name);
        }
        bool ok;
        switch (f[i].kind) {
        case 's':
        case 'o':
            ok = v->type == CJSON_STRING && v->len >= (f[i].kind == 's' ? 1u : 0u) &&
                 v->len <= f[i].max && memchr(v->str, 0, v->len) == NULL;
            break;
        case 'i':
            ok = v->type == CJSON_INT && v->str[0] != '-' && v->len <= 9;
            break;
        case 'h':
            ok = v->type == CJSON_STRING && v->len == 64;
            break;
        default:
            ok = v->type == CJSON_ARRAY;
        }
        if (!ok)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "%s record: '%s' is malformed", kind,
                            f[i].name);
    }
    return LTD_OK;
}

static const char *
sget(const struct cjson *o, const char *k)
{
    const struct cjson *v = cjson_get(o, k);
    return v && v->type == CJSON_STRING ? v->str : NULL;
}

static uint32_t
iget(const struct cjson *o, const char *k)
{
    const struct cjson *v = cjson_get(o, k);
    return v ? (uint32_t)strtoul(v->str, NULL, 10) : 0;
}

static enum ltd_err
hget(const struct cjson *o, const char *k, struct ltd_hash *out, struct ltd_errbuf *eb)
{
    const char *s = sget(o, k);
    for (int i = 0; s && i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            s = NULL;
    if (s == NULL || !hex_decode(out->b, 32, s, 64))
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'%s' must be a transaction id (64 hex)", k);
    return LTD_OK;
}

static enum ltd_err
parse_activity(const struct cjson *o, bool with_tickets, struct ltdrs_activity *a,
               struct ltd_errbuf *eb)
{
    a->name = sget(o, "name");
    a->start = sget(o, "start");
    a->end = sget(o, "end");
    a->venue = sget(o, "venue");
    a->category = sget(o, "category");
    a->description = sget(o, "description");
    if (!ltdrs_parse_time(a->start, &a->start_s) || !ltdrs_parse_time(a->end, &a->end_s))
        return ltd_fail(eb, LTD_E_L_BAD_TIME,
                        "start and end must be ISO 8601 times with a zone "
                        "(YYYY-MM-DDTHH:MM[:SS]+08:00)");
    if (a->end_s < a->start_s)
        return ltd_fail(eb, LTD_E_L_BAD_TIME, "the activity ends (%s) before it starts (%s)",
                        a->end, a->start);
    if (with_tickets) {
        a->tickets = iget(o, "tickets");
        if (a->tickets < 1 || a->tickets > ltdrs_tickets_max)
            return ltd_fail(eb, LTD_E_L_BAD_COUNT, "tickets must be 1..%d, not %u",
                            (int)ltdrs_tickets_max, a->tickets);
    }
    ltdrs_normalize(a->name, a->norm, sizeof a->norm);
    return LTD_OK;
}

static enum ltd_err
parse_ticket_ref(const struct cjson *o, struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    const char *s = sget(o, "ticket");
    const char *colon = s ? strchr(s, ':') : NULL;
    char *end = NULL;
    if (s == NULL || colon == NULL || colon - s != 64 || !hex_decode(r->ticket_txid.b, 32, s, 64) ||
        colon[1] == 0)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'ticket' must be <transaction_id>:<index>");
    r->ticket_index = strtoull(colon + 1, &end, 10);
    if (*end != 0 || r->ticket_index > 65535)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'ticket' must be <transaction_id>:<index>");
    return LTD_OK;
}

/* The fields of each kind, checked before the kind's own parsing. */
static enum ltd_err
parse_create_fields(const struct cjson *o, struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    enum { S = ltdrs_name_bytes_max, T = ltdrs_text_bytes_max };
    static const struct field roster[] = {{"generation", 'i', 0}, {"students", 'a', 0}};
    static const struct field student[] = {
        {"sid", 's', ltdrs_sid_bytes_max}, {"code", 's', ltdrs_code_bytes_max}, {"name", 'o', S}};
    static const struct field unbind[] = {
        {"sid", 's', ltdrs_sid_bytes_max}, {"reason", 's', T}, {"code_hash", 'h', 0}};
    static const struct field dept[] = {{"name", 's', S}, {"contact", 's', S}};
    static const struct field certify[] = {
        {"department", 'h', 0}, {"decision", 's', 16}, {"reason", 'o', T}};
    static const struct field app[] = {
        {"name", 's', S},    {"start", 's', 40},   {"end", 's', 40},       {"venue", 's', S},
        {"tickets", 'i', 0}, {"category", 's', S}, {"description", 'o', T}};
    static const struct field decision[] = {
        {"application", 'h', 0}, {"decision", 's', 16}, {"reason", 's', T}};
    static const struct field ticket[] = {{"application", 'h', 0}, {"name", 's', S},
                                          {"start", 's', 40},      {"end", 's', 40},
                                          {"venue", 's', S},       {"category", 's', S}};
    static const struct field revocation[] = {{"ticket", 's', 80}, {"reason", 's', T}};
    static const struct field close_f[] = {{"application", 'h', 0}};
    static const struct field ann[] = {
        {"title", 's', S}, {"text", 's', T}, {"link", 'o', 500}, {"application", 'o', 64}};
    static const struct {
        const struct field *f;
        size_t n;
    } tab[] = {
        [LTDRS_ROSTER] = {roster, ARRAY_LEN(roster)},
        [LTDRS_STUDENT] = {student, ARRAY_LEN(student)},
        [LTDRS_UNBIND] = {unbind, ARRAY_LEN(unbind)},
        [LTDRS_DEPARTMENT] = {dept, ARRAY_LEN(dept)},
        [LTDRS_CERTIFY] = {certify, ARRAY_LEN(certify)},
        [LTDRS_APPLICATION] = {app, ARRAY_LEN(app)},
        [LTDRS_DECISION] = {decision, ARRAY_LEN(decision)},
        [LTDRS_TICKET] = {ticket, ARRAY_LEN(ticket)},
        [LTDRS_REVOCATION] = {revocation, ARRAY_LEN(revocation)},
        [LTDRS_CLOSE] = {close_f, ARRAY_LEN(close_f)},
        [LTDRS_ANNOUNCEMENT] = {ann, ARRAY_LEN(ann)},
    };
    LTD_ASSERT((size_t)r->kind < ARRAY_LEN(tab) && tab[r->kind].f != NULL);
    return check_fields(o, tab[r->kind].f, tab[r->kind].n, ltdrs_kind_name(r->kind), eb);
}

static enum ltd_err
parse_create(const struct cjson *o, struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    enum ltd_err e = parse_create_fields(o, r, eb);
    if (e)
        return e;
    switch (r->kind) {
    case LTDRS_ROSTER:
        r->generation = iget(o, "generation");
        r->students = cjson_get(o, "students");
        if (r->generation < 1 || r->students->len < 1 || r->students->len > ltdrs_roster_max)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                            "roster needs generation >= 1 and 1..%d students",
                            (int)ltdrs_roster_max);
        return LTD_OK;
    case LTDRS_STUDENT:
    case LTDRS_UNBIND:
        r->sid = sget(o, "sid");
        r->code = sget(o, "code");
        r->name = sget(o, "name");
        r->reason = sget(o, "reason");
        if (!ltdrs_sid_ok(r->sid))
            return ltd_fail(eb, LTD_E_L_BAD_SID, "'%.40s' is not a student number", r->sid);
        if (r->kind == LTDRS_UNBIND && !hex_decode(r->code_hash, 32, sget(o, "code_hash"), 64))
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'code_hash' must be 64 hex");
        return LTD_OK;
    case LTDRS_DEPARTMENT:
        r->name = sget(o, "name");
        r->contact = sget(o, "contact");
        return LTD_OK;
    case LTDRS_CERTIFY:
        r->reason = sget(o, "reason");
        r->has_ref = true;
        if (strcmp(sget(o, "decision"), "approved") == 0)
            r->approved = true;
        else if (strcmp(sget(o, "decision"), "rejected") != 0)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'decision' must be approved or rejected");
        return hget(o, "department", &r->ref, eb);
    case LTDRS_APPLICATION:
        return parse_activity(o, true, &r->act, eb);
    case LTDRS_DECISION:
        r->reason = sget(o, "reason");
        r->has_ref = true;
        if (strcmp(sget(o, "decision"), "rejected") != 0)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                            "a decision record rejects; approval is the ticket record");
        return hget(o, "application", &r->ref, eb);
    case LTDRS_TICKET:
        r->has_ref = true;
        if ((e = parse_activity(o, false, &r->act, eb)))
            return e;
        return hget(o, "application", &r->ref, eb);
    case LTDRS_REVOCATION:
        r->reason = sget(o, "reason");
        return parse_ticket_ref(o, r, eb);
    case LTDRS_CLOSE:
        r->has_ref = true;
        return hget(o, "application", &r->ref, eb);
    case LTDRS_ANNOUNCEMENT:
        r->title = sget(o, "title");
        r->text = sget(o, "text");
        r->link = sget(o, "link");
        if (r->link && r->link[0] && strncmp(r->link, "https://", 8) != 0 &&
            strncmp(r->link, "http://", 7) != 0)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'link' must be an http(s) URL");
        if (cjson_get(o, "application")) {
            r->has_ref = true;
            return hget(o, "application", &r->ref, eb);
        }
        return LTD_OK;
    default:
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "not a CREATE record");
    }
}

static enum ltd_err
parse_transfer(const struct cjson *o, struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    if (r->kind == LTDRS_DISTRIBUTION) {
        static const struct field f[] = {{"students", 'a', 0}};
        enum ltd_err e = check_fields(o, f, 1, "distribution", eb);
        if (e)
            return e;
        r->students = cjson_get(o, "students");
        for (uint32_t i = 0; i < r->students->len; i++) {
            const struct cjson *s = r->students->items[i];
            if (s->type != CJSON_STRING || !ltdrs_sid_ok(s->str))
                return ltd_fail(eb, LTD_E_L_BAD_SID, "students[%u] is not a student number", i);
        }
        return LTD_OK;
    }
    if (r->kind == LTDRS_RETURN) {
        static const struct field f[] = {{"reason", 'o', ltdrs_text_bytes_max}};
        r->reason = sget(o, "reason");
        return check_fields(o, f, 1, "return", eb);
    }
    return ltd_fail(eb, LTD_E_L_BAD_RECORD, "'%s' is not a TRANSFER record",
                    ltdrs_kind_name(r->kind));
}

enum ltd_err
ltdrs_parse(const struct tx *t, struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    const struct cjson *o = t->op == TX_CREATE ? t->asset_data : t->metadata;
    const struct cjson *tag = o && o->type == CJSON_OBJECT ? cjson_get(o, "ltdrs") : NULL;
    if (tag == NULL)
        return LTD_OK;
    if (tag->type == CJSON_STRING)
        for (size_t k = 1; k < ARRAY_LEN(kind_names); k++)
            if (strcmp(tag->str, kind_names[k]) == 0 && strlen(kind_names[k]) == tag->len)
                r->kind = (enum ltdrs_kind)k;
    const struct cjson *v = cjson_get(o, "v");
    if (r->kind == LTDRS_NONE)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "unknown LTDRS record kind");
    if (v == NULL || v->type != CJSON_INT || strcmp(v->str, "1") != 0)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "LTDRS record needs \"v\": 1");
    bool transfer_kind = r->kind == LTDRS_DISTRIBUTION || r->kind == LTDRS_RETURN;
    if (transfer_kind != (t->op == TX_TRANSFER))
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "a %s record must be a %s",
                        ltdrs_kind_name(r->kind), transfer_kind ? "TRANSFER" : "CREATE");
    if (t->op == TX_TRANSFER)
        return parse_transfer(o, r, eb);
    if (t->in[0].n_owners != 1)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "an LTDRS record has exactly one signer");
    r->signer = t->in[0].owners[0];
    return parse_create(o, r, eb);
}

/* ------------------------------------------------------------- rules */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        enum ltd_err e_ = (x);                                                                     \
        if (e_)                                                                                    \
            return e_;                                                                             \
    } while (0)

static bool
is_admin(const struct ltdrs_view *v, const struct ltdrs_record *r)
{
    return memcmp(v->admin.b, r->signer.b, 32) == 0;
}

static enum ltd_err
need_admin(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    if (!is_admin(v, r))
        return ltd_fail(eb, LTD_E_L_NOT_ADMIN, "only the school admin may sign a %s record",
                        ltdrs_kind_name(r->kind));
    return LTD_OK;
}

/* A record token: exactly one output of amount 1 to the signer. */
static enum ltd_err
need_token_output(const struct tx *t, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    if (t->n_out != 1 || t->out[0].amount != 1 || !plain_key(t->out[0].details, &r->signer))
        return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                        "a %s record has one output of amount 1 to its signer",
                        ltdrs_kind_name(r->kind));
    return LTD_OK;
}

static enum ltd_err
check_roster(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    const struct cjson *st = r->students;
    for (uint32_t i = 0; i < st->len; i++) {
        const struct cjson *e = st->items[i];
        const char *sid = e->type == CJSON_OBJECT ? sget(e, "sid") : NULL;
        const char *h = e->type == CJSON_OBJECT ? sget(e, "code_hash") : NULL;
        uint8_t hb[32];
        if (sid == NULL || h == NULL || e->len != 2 || strlen(h) != 64 ||
            !hex_decode(hb, 32, h, 64))
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "students[%u] must be {\"sid\", \"code_hash\"}",
                            i);
        if (!ltdrs_sid_ok(sid))
            return ltd_fail(eb, LTD_E_L_BAD_SID, "students[%u]: '%.40s' is not a student number", i,
                            sid);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(sget(st->items[j], "sid"), sid) == 0)
                return ltd_fail(eb, LTD_E_L_DUP_ROSTER, "student %s is listed twice", sid);
        bool found = false, bound = false;
        uint8_t old[32];
        uint32_t gen = 0;
        struct ltd_pubkey k;
        TRY(v->roster(v->ctx, sid, &found, old, &gen, eb));
        if (found && gen >= r->generation)
            return ltd_fail(eb, LTD_E_L_DUP_ROSTER, "student %s is already on roster generation %u",
                            sid, gen);
        TRY(v->student_key(v->ctx, sid, &bound, &k, eb));
        if (bound)
            return ltd_fail(eb, LTD_E_L_SID_BOUND, "student %s is already registered", sid);
    }
    return LTD_OK;
}

static enum ltd_err
check_student(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    bool found = false, bound = false, used = false;
    uint8_t want[32], got[32];
    uint32_t gen;
    struct ltd_pubkey k;
    TRY(v->roster(v->ctx, r->sid, &found, want, &gen, eb));
    if (!found && !v->open_registration)
        return ltd_fail(eb, LTD_E_L_NOT_ON_ROSTER, "student %s is not on the roster", r->sid);
    TRY(v->student_key(v->ctx, r->sid, &bound, &k, eb));
    if (bound)
        return ltd_fail(eb, LTD_E_L_SID_BOUND, "student %s is already registered", r->sid);
    if (found) {
        ltdrs_code_hash(r->sid, r->code, got);
        if (memcmp(got, want, 32) != 0)
            return ltd_fail(eb, LTD_E_L_BAD_CODE, "the activation code of %s does not match",
                            r->sid);
    }
    TRY(v->key_used(v->ctx, &r->signer, &used, eb));
    if (used || is_admin(v, r))
        return ltd_fail(eb, LTD_E_L_KEY_BOUND, "this key already belongs to an identity");
    return LTD_OK;
}

static enum ltd_err
check_department(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    char norm[ltdrs_norm_bytes_max];
    bool used = false;
    ltdrs_normalize(r->name, norm, sizeof norm);
    if (norm[0] == 0)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "department name is empty");
    TRY(v->department_name_used(v->ctx, norm, &used, eb));
    if (used)
        return ltd_fail(eb, LTD_E_L_DUP_DEPT, "a department named '%.80s' exists", r->name);
    TRY(v->key_used(v->ctx, &r->signer, &used, eb));
    if (used || is_admin(v, r))
        return ltd_fail(eb, LTD_E_L_KEY_BOUND, "this key already belongs to an identity");
    return LTD_OK;
}

static enum ltd_err
check_certify(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    TRY(need_admin(v, r, eb));
    bool found = false;
    struct ltdrs_department d;
    TRY(v->department(v->ctx, &r->ref, &found, &d, eb));
    if (!found)
        return ltd_fail(eb, LTD_E_L_UNKNOWN_DEPT, "no department record with this id");
    if (d.status != LTDRS_PENDING)
        return ltd_fail(eb, LTD_E_L_DECIDED, "this department was already %s",
                        d.status == LTDRS_APPROVED ? "approved" : "rejected");
    return LTD_OK;
}

static enum ltd_err
check_application(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    bool found = false, used = false;
    struct ltd_hash dept;
    struct ltdrs_department d;
    TRY(v->department_of_key(v->ctx, &r->signer, &found, &dept, &d, eb));
    if (!found || d.status != LTDRS_APPROVED)
        return ltd_fail(eb, LTD_E_L_NOT_CERTIFIED, "only a certified department may apply");
    TRY(v->activity_used(v->ctx, &dept, r->act.norm, r->act.start_s, r->act.venue, &used, eb));
    if (used)
        return ltd_fail(eb, LTD_E_L_DUP_ACTIVITY,
                        "activity '%.80s' at %.80s from %s is already applied for", r->act.name,
                        r->act.venue, r->act.start);
    return LTD_OK;
}

/* The pending application a decision or ticket refers to. */
static enum ltd_err
pending_app(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltdrs_application *a,
            struct ltd_errbuf *eb)
{
    bool found = false;
    TRY(v->application(v->ctx, &r->ref, &found, a, eb));
    if (!found)
        return ltd_fail(eb, LTD_E_L_UNKNOWN_APP, "no application with this id");
    if (a->status != LTDRS_PENDING)
        return ltd_fail(eb, LTD_E_L_DECIDED, "this application was already %s",
                        a->status == LTDRS_APPROVED ? "approved" : "rejected");
    return LTD_OK;
}

static enum ltd_err
check_ticket_issue(const struct ltdrs_view *v, const struct tx *t, const struct ltdrs_record *r,
                   struct ltd_errbuf *eb)
{
    TRY(need_admin(v, r, eb));
    struct ltdrs_application a;
    TRY(pending_app(v, r, &a, eb));
    bool found = false;
    struct ltdrs_department d;
    TRY(v->department(v->ctx, &a.dept, &found, &d, eb));
    if (!found || d.status != LTDRS_APPROVED)
        return ltd_fail(eb, LTD_E_L_NOT_CERTIFIED, "the applying department is not certified");
    if (t->n_out != 1 || !plain_key(t->out[0].details, &a.dept_key))
        return ltd_fail(eb, LTD_E_L_BAD_TICKET_OUT,
                        "the ticket asset has one output, to the applying department's key");
    if (t->out[0].amount > a.tickets)
        return ltd_fail(eb, LTD_E_L_OVER_QUOTA, "%llu tickets issued but %u requested",
                        (unsigned long long)t->out[0].amount, a.tickets);
    if (strcmp(a.name, r->act.name) || strcmp(a.start, r->act.start) || strcmp(a.end, r->act.end) ||
        strcmp(a.venue, r->act.venue) || strcmp(a.category, r->act.category))
        return ltd_fail(eb, LTD_E_L_ACT_MISMATCH,
                        "the ticket's activity fields differ from the application's");
    return LTD_OK;
}

static enum ltd_err
check_revocation(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    TRY(need_admin(v, r, eb));
    bool found = false;
    struct ltdrs_ticket tk;
    TRY(v->ticket(v->ctx, &r->ticket_txid, r->ticket_index, &found, &tk, eb));
    if (!found || tk.holder != LTDRS_HELD_BY_STUDENT || tk.spent)
        return ltd_fail(eb, LTD_E_L_UNKNOWN_TICKET, "no student-held ticket at this id");
    if (tk.revoked)
        return ltd_fail(eb, LTD_E_L_REVOKED, "this ticket was already revoked");
    return LTD_OK;
}

static enum ltd_err
check_close(const struct ltdrs_view *v, const struct ltdrs_record *r, struct ltd_errbuf *eb)
{
    bool found = false;
    struct ltdrs_application a;
    TRY(v->application(v->ctx, &r->ref, &found, &a, eb));
    if (!found || a.status != LTDRS_APPROVED)
        return ltd_fail(eb, LTD_E_L_UNKNOWN_APP, "no approved application with this id");
    if (!is_admin(v, r) && memcmp(a.dept_key.b, r->signer.b, 32) != 0)
        return ltd_fail(eb, LTD_E_L_NOT_ALLOWED,
                        "only the applying department or the admin may close an activity");
    if (a.closed)
        return ltd_fail(eb, LTD_E_L_ALREADY_CLOSED, "this activity is already closed");
    return LTD_OK;
}

static enum ltd_err
check_create_record(const struct ltdrs_view *v, const struct tx *t, const struct ltdrs_record *r,
                    struct ltd_errbuf *eb)
{
    if (r->kind != LTDRS_TICKET)
        TRY(need_token_output(t, r, eb));
    bool found = false;
    struct ltdrs_application a;
    switch (r->kind) {
    case LTDRS_ROSTER:
        TRY(need_admin(v, r, eb));
        return check_roster(v, r, eb);
    case LTDRS_STUDENT:
        return check_student(v, r, eb);
    case LTDRS_UNBIND: {
        TRY(need_admin(v, r, eb));
        struct ltd_pubkey k;
        TRY(v->student_key(v->ctx, r->sid, &found, &k, eb));
        if (!found)
            return ltd_fail(eb, LTD_E_L_SID_NOT_BOUND, "student %s is not registered", r->sid);
        return LTD_OK;
    }
    case LTDRS_DEPARTMENT:
        return check_department(v, r, eb);
    case LTDRS_CERTIFY:
        return check_certify(v, r, eb);
    case LTDRS_APPLICATION:
        return check_application(v, r, eb);
    case LTDRS_DECISION:
        TRY(need_admin(v, r, eb));
        return pending_app(v, r, &a, eb);
    case LTDRS_TICKET:
        return check_ticket_issue(v, t, r, eb);
    case LTDRS_REVOCATION:
        return check_revocation(v, r, eb);
    case LTDRS_CLOSE:
        return check_close(v, r, eb);
    case LTDRS_ANNOUNCEMENT:
        TRY(need_admin(v, r, eb));
        if (r->has_ref) {
            TRY(v->application(v->ctx, &r->ref, &found, &a, eb));
            if (!found)
                return ltd_fail(eb, LTD_E_L_UNKNOWN_APP, "no application with this id");
        }
        return LTD_OK;
    default:
        LTD_ASSERT(!"unreachable record kind");
        return LTD_E_INTERNAL;
    }
}

/* Student outputs of a distribution: each a 2-of-2 {student, dept}, amount 1,
 * the student key bound to the listed sid, no second ticket. */
static enum ltd_err
check_distribution_outputs(const struct ltdrs_view *v, const struct tx *t,
                           const struct ltdrs_record *r, const struct ltd_hash *app,
                           const struct ltd_pubkey *dept_key, struct ltd_errbuf *eb)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->n_out; i++) {
        struct ltd_pubkey sk;
        if (plain_key(t->out[i].details, dept_key))
            continue; /* change back to the department */
        if (!ltdrs_ticket_condition(t->out[i].details, dept_key, &sk) || t->out[i].amount != 1)
            return ltd_fail(eb, LTD_E_L_NOT_TRANSFERABLE,
                            "outputs[%u]: a ticket goes only to a 2-of-2 {student, department} "
                            "condition of amount 1, or back to the department",
                            i);
        if (r->kind != LTDRS_DISTRIBUTION || r->students == NULL || k >= r->students->len)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                            "a distribution lists one student number per ticket output");
        const char *sid = r->students->items[k]->str;
        for (uint32_t j = 0; j < k; j++)
            if (strcmp(r->students->items[j]->str, sid) == 0)
                return ltd_fail(eb, LTD_E_L_HAS_TICKET,
                                "student %s is listed twice in this distribution", sid);
        bool found = false, holds = false;
        struct ltd_pubkey bound;
        TRY(v->student_key(v->ctx, sid, &found, &bound, eb));
        if (!found)
            return ltd_fail(eb, LTD_E_L_NOT_REGISTERED, "student %s is not registered", sid);
        if (memcmp(bound.b, sk.b, 32) != 0)
            return ltd_fail(eb, LTD_E_L_KEY_MISMATCH,
                            "outputs[%u] is not locked to the key of student %s", i, sid);
        TRY(v->student_holds(v->ctx, sid, app, &holds, eb));
        if (holds)
            return ltd_fail(eb, LTD_E_L_HAS_TICKET,
                            "student %s already holds a ticket for this activity", sid);
        k++;
    }
    if (r->kind == LTDRS_DISTRIBUTION && r->students && k != r->students->len)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                        "the distribution lists %u student numbers for %u ticket outputs",
                        r->students->len, k);
    return LTD_OK;
}

/* Every TRANSFER of a ticket asset, whatever its metadata. */
static enum ltd_err
check_ticket_transfer(const struct ltdrs_view *v, const struct tx *t, const struct ltdrs_record *r,
                      const struct ltd_hash *app_id, struct ltd_errbuf *eb)
{
    bool found = false;
    struct ltdrs_application a;
    TRY(v->application(v->ctx, app_id, &found, &a, eb));
    LTD_ASSERT(found); /* a ticket asset always has its application */
    if (a.closed)
        return ltd_fail(eb, LTD_E_L_CLOSED, "activity '%.80s' is closed", a.name);
    int holder = 0;
    for (uint32_t i = 0; i < t->n_in; i++) {
        struct ltdrs_ticket tk;
        TRY(v->ticket(v->ctx, &t->in[i].fulfills_txid, t->in[i].fulfills_index, &found, &tk, eb));
        int h = found ? tk.holder : 0;
        if (h == 0 || (holder && h != holder))
            return ltd_fail(eb, LTD_E_L_NOT_TRANSFERABLE,
                            "a transaction moves either department-held or student-held tickets");
        holder = h;
    }
    if (holder == LTDRS_HELD_BY_STUDENT) {
        for (uint32_t i = 0; i < t->n_out; i++)
            if (!plain_key(t->out[i].details, &a.dept_key))
                return ltd_fail(eb, LTD_E_L_NOT_TRANSFERABLE,
                                "a student's ticket can only go back to its department "
                                "(outputs[%u])",
                                i);
        if (r->kind == LTDRS_DISTRIBUTION)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD,
                            "student-held tickets are returned, not "
                            "distributed");
        return LTD_OK;
    }
    if (r->kind == LTDRS_RETURN)
        return ltd_fail(eb, LTD_E_L_BAD_RECORD, "only student-held tickets are returned");
    return check_distribution_outputs(v, t, r, app_id, &a.dept_key, eb);
}

enum ltd_err
ltdrs_check(const struct ltdrs_view *v, const struct tx *t, struct ltdrs_record *r,
            struct ltd_errbuf *eb)
{
    TRY(ltdrs_parse(t, r, eb));
    if (t->op == TX_CREATE)
        return r->kind == LTDRS_NONE ? LTD_OK : check_create_record(v, t, r, eb);
    bool is_ticket = false;
    struct ltd_hash app;
    TRY(v->ticket_asset(v->ctx, &t->asset_id, &is_ticket, &app, eb));
    if (!is_ticket) {
        if (r->kind != LTDRS_NONE)
            return ltd_fail(eb, LTD_E_L_BAD_RECORD, "a %s must move a ticket asset",
                            ltdrs_kind_name(r->kind));
        return LTD_OK;
    }
    return check_ticket_transfer(v, t, r, &app, eb);
}
