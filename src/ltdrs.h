/*
 * ltdrs.h - the LTDRS domain on the ledger: parsing LTDRS records out of
 * BigchainDB transactions and the rules every node enforces on them
 * (docs/ltdrs-records.md).  Pure: the state comes in through struct
 * ltdrs_view (implemented over SQLite in store_ltdrs.c), nothing here reads
 * a clock or does I/O, so validation stays deterministic.
 *
 * Not here: storing the consequences of a record (store_ltdrs.c), queries,
 * HTTP.
 */
#ifndef LTD_LTDRS_H
#define LTD_LTDRS_H

#include "err.h"
#include "ltd.h"
#include "tx.h"

enum {
    ltdrs_text_bytes_max = 2000, /* reasons, descriptions, announcement text */
    ltdrs_name_bytes_max = 200,  /* names, venues, titles, categories, contacts */
    ltdrs_sid_bytes_max = 32,    /* student numbers */
    ltdrs_code_bytes_max = 64,   /* activation codes */
    ltdrs_roster_max = 5000,     /* students per roster record */
    ltdrs_tickets_max = 100000,  /* tickets per application */
    ltdrs_norm_bytes_max = 256,  /* normalised name */
};

enum ltdrs_kind {
    LTDRS_NONE = 0, /* plain BigchainDB transaction */
    LTDRS_ROSTER,
    LTDRS_STUDENT,
    LTDRS_UNBIND,
    LTDRS_DEPARTMENT,
    LTDRS_CERTIFY,
    LTDRS_APPLICATION,
    LTDRS_DECISION,
    LTDRS_TICKET,
    LTDRS_DISTRIBUTION,
    LTDRS_RETURN,
    LTDRS_REVOCATION,
    LTDRS_CLOSE,
    LTDRS_ANNOUNCEMENT,
};

const char *ltdrs_kind_name(enum ltdrs_kind k);

/* An activity as applied for (application) or issued (ticket). Strings
 * point into the transaction's JSON tree. */
struct ltdrs_activity {
    const char *name, *start, *end, *venue, *category, *description;
    int64_t start_s, end_s;          /* instants, seconds since the epoch */
    uint32_t tickets;                /* requested (application) */
    char norm[ltdrs_norm_bytes_max]; /* normalised name: trimmed, spaces collapsed, ASCII lower */
};

/* A parsed LTDRS record.  Strings are borrowed from the transaction tree. */
struct ltdrs_record {
    enum ltdrs_kind kind;
    struct ltd_pubkey signer;   /* CREATE records: the single owners_before key */
    const char *sid;            /* student, unbind */
    const char *code;           /* student */
    const char *name, *contact; /* student (name, optional), department */
    struct ltd_hash ref; /* certify: department; decision/ticket/close/announcement: application */
    bool has_ref;
    bool approved;                /* certify */
    const char *reason;           /* certify, decision, unbind, revocation, return (optional) */
    struct ltdrs_activity act;    /* application, ticket */
    uint8_t code_hash[32];        /* unbind */
    uint32_t generation;          /* roster */
    const struct cjson *students; /* roster: [{sid, code_hash}], distribution: [sid] */
    struct ltd_hash ticket_txid;  /* revocation */
    uint64_t ticket_index;
    const char *title, *text, *link; /* announcement */
};

/* Parses the LTDRS record a transaction carries (kind LTDRS_NONE when it
 * carries none).  LTD_E_L_BAD_RECORD / LTD_E_L_BAD_SID / LTD_E_L_BAD_TIME /
 * LTD_E_L_BAD_COUNT on a malformed record. */
LTD_MUST_CHECK enum ltd_err ltdrs_parse(const struct tx *t, struct ltdrs_record *r,
                                        struct ltd_errbuf *eb);

/* ---- what the rules need to know about the state ---- */

enum ltdrs_dept_status { LTDRS_PENDING = 0, LTDRS_APPROVED = 1, LTDRS_REJECTED = 2 };

struct ltdrs_department {
    struct ltd_pubkey key;
    int status; /* enum ltdrs_dept_status */
};

struct ltdrs_application {
    struct ltd_hash dept; /* department record id */
    struct ltd_pubkey dept_key;
    int status; /* enum ltdrs_dept_status (pending/approved/rejected) */
    bool closed;
    uint32_t tickets; /* requested */
    char name[ltdrs_name_bytes_max + 1], start[40], end[40], venue[ltdrs_name_bytes_max + 1],
        category[ltdrs_name_bytes_max + 1];
};

enum ltdrs_holder { LTDRS_HELD_BY_DEPT = 1, LTDRS_HELD_BY_STUDENT = 2 };

struct ltdrs_ticket {
    struct ltd_hash app; /* application id */
    int holder;          /* enum ltdrs_holder */
    char sid[ltdrs_sid_bytes_max + 1];
    bool revoked;
    bool spent;
};

/* Lookups return LTD_OK with *found set, or a store error (5xx). */
struct ltdrs_view {
    void *ctx;
    struct ltd_pubkey admin; /* the genesis admin key */
    bool open_registration;  /* ledger made without a roster */
    /* roster entry of sid: code hash and generation */
    enum ltd_err (*roster)(void *ctx, const char *sid, bool *found, uint8_t code_hash[32],
                           uint32_t *generation, struct ltd_errbuf *eb);
    /* current key bound to sid (found false when unregistered or unbound) */
    enum ltd_err (*student_key)(void *ctx, const char *sid, bool *found, struct ltd_pubkey *key,
                                struct ltd_errbuf *eb);
    /* whether a key is (or was) bound to any identity */
    enum ltd_err (*key_used)(void *ctx, const struct ltd_pubkey *key, bool *used,
                             struct ltd_errbuf *eb);
    /* department record by id */
    enum ltd_err (*department)(void *ctx, const struct ltd_hash *id, bool *found,
                               struct ltdrs_department *out, struct ltd_errbuf *eb);
    /* the certified (or pending, with pending_ok) department whose key this is */
    enum ltd_err (*department_of_key)(void *ctx, const struct ltd_pubkey *key, bool *found,
                                      struct ltd_hash *id, struct ltdrs_department *out,
                                      struct ltd_errbuf *eb);
    /* whether a department that is not rejected already uses the normalised name */
    enum ltd_err (*department_name_used)(void *ctx, const char *norm, bool *used,
                                         struct ltd_errbuf *eb);
    enum ltd_err (*application)(void *ctx, const struct ltd_hash *id, bool *found,
                                struct ltdrs_application *out, struct ltd_errbuf *eb);
    /* whether (dept, norm name, start, venue) is used by a pending or approved application */
    enum ltd_err (*activity_used)(void *ctx, const struct ltd_hash *dept, const char *norm,
                                  int64_t start_s, const char *venue, bool *used,
                                  struct ltd_errbuf *eb);
    /* the application whose ticket asset this is (found false: not a ticket asset) */
    enum ltd_err (*ticket_asset)(void *ctx, const struct ltd_hash *asset, bool *found,
                                 struct ltd_hash *app, struct ltd_errbuf *eb);
    /* a ticket output (txid, index) */
    enum ltd_err (*ticket)(void *ctx, const struct ltd_hash *txid, uint64_t index, bool *found,
                           struct ltdrs_ticket *out, struct ltd_errbuf *eb);
    /* whether sid holds an unspent ticket of this application */
    enum ltd_err (*student_holds)(void *ctx, const char *sid, const struct ltd_hash *app,
                                  bool *holds, struct ltd_errbuf *eb);
};

/*
 * Checks the LTDRS rules of t (which passed BigchainDB's rules) against the
 * view.  Returns LTD_OK (also for plain transactions that touch no ticket),
 * or the broken rule with a message that names it (LTD_E_L_*), or a store
 * error.  [out] r  the parsed record (kind LTDRS_NONE for plain ones).
 */
LTD_MUST_CHECK enum ltd_err ltdrs_check(const struct ltdrs_view *v, const struct tx *t,
                                        struct ltdrs_record *r, struct ltd_errbuf *eb);

/* Parses "YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)" into seconds since the
 * epoch.  False when malformed. */
bool ltdrs_parse_time(const char *s, int64_t *out);
/* Normalises a name for uniqueness checks (see struct ltdrs_activity). */
void ltdrs_normalize(const char *s, char *out, size_t cap);
/* Valid student number: 1..32 of [0-9A-Za-z_-]. */
bool ltdrs_sid_ok(const char *s);
/* hex(SHA-256(sid ":" code)) into out (65 bytes). */
void ltdrs_code_hash(const char *sid, const char *code, uint8_t out[32]);

/* The student key of a ticket output's details if it is exactly a 2-of-2
 * threshold of two ed25519 leaves one of which is dept_key; false
 * otherwise. */
bool ltdrs_ticket_condition(const struct cc_details *d, const struct ltd_pubkey *dept_key,
                            struct ltd_pubkey *student_key);

#endif
