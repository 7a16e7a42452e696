/*
 * err.c - the table behind err.h and the formatting of error messages.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
    enum ltd_err code;
    int http;
    const char *name;
    const char *bdb;
    const char *hint;
};

static const struct err_row err_table[] = {
#define LTD_ERR_ROW(name, num, http, bdb, hint) {name, http, #name, bdb, hint},
    LTD_ERRORS(LTD_ERR_ROW)
#undef LTD_ERR_ROW
};

static const struct err_row *
err_find(enum ltd_err e)
{
    for (size_t i = 0; i < ARRAY_LEN(err_table); i++)
        if (err_table[i].code == e)
            return &err_table[i];
    return NULL;
}

enum ltd_err
ltd_fail(struct ltd_errbuf *eb, enum ltd_err code, const char *fmt, ...)
{
    LTD_ASSERT(code != LTD_OK);
    if (eb == NULL || eb->code != LTD_OK)
        return code;
    eb->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
    return code;
}

void
ltd_errbuf_clear(struct ltd_errbuf *eb)
{
    eb->code = LTD_OK;
    eb->msg[0] = 0;
}

const char *
ltd_err_name(enum ltd_err e)
{
    const struct err_row *r = err_find(e);
    return r ? r->name : "?";
}

const char *
ltd_err_bdb_type(enum ltd_err e)
{
    const struct err_row *r = err_find(e);
    return r ? r->bdb : "ValidationError";
}

const char *
ltd_err_hint(enum ltd_err e)
{
    const struct err_row *r = err_find(e);
    return r ? r->hint : "unknown error";
}

int
ltd_err_http(enum ltd_err e)
{
    const struct err_row *r = err_find(e);
    return r ? r->http : 500;
}

void
ltd_err_bdb_message(const struct ltd_errbuf *eb, struct buf *out)
{
    enum ltd_err c = eb->code;
    if (c == LTD_E_TX_SCHEMA) {
        buf_addf(out, "Invalid transaction schema: %s", eb->msg);
    } else if (c >= 100 && c < 150) {
        buf_addf(out, "Failed to decode JSON object: %s", eb->msg);
    } else {
        buf_addf(out, "Invalid transaction (%s): %s", ltd_err_bdb_type(c), eb->msg);
    }
}
