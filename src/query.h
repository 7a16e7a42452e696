/*
 * query.h - read-only LTDRS queries over the domain tables (migration 0002,
 * indexes of 0003) for the JSON API: a student and their tickets, one
 * ticket, the all-students report (JSON and CSV), the activity catalogue,
 * applications, departments, statistics, announcements, and the helpers the
 * browser needs to build transactions (department-held outputs, keys of
 * student numbers, the role of a key).
 *
 * Every function runs on one pooled reader connection inside one read
 * transaction (a single WAL snapshot, so a student's tickets and their
 * count always agree), and appends JSON (or CSV) to a caller-owned struct
 * buf.  On failure nothing is appended: `out` is truncated back to its
 * length at the call.  Counts come from the tallies the applier keeps
 * (l_tally) or from one indexed GROUP BY; nothing recounts the ledger.
 *
 * Not here: HTTP, sessions, who may see what (api_ltdrs.c decides and
 * passes flags such as `admin`), and writing anything.
 */
#ifndef LTD_QUERY_H
#define LTD_QUERY_H

#include "err.h"
#include "ltd.h"
#include "store.h"

/* Named limits (rule 10). */
enum {
    query_per_page_max = 1000,              /* rows of one page of any list */
    query_page_max = 1000000,               /* highest page number accepted */
    query_keys_sids_max = 2000,             /* student numbers in one key lookup */
    query_histogram_buckets = 11,           /* 0, 1, ..., 9, 10+ tickets */
    query_distributions_per_page_max = 100, /* a distribution lists up to ~1000 students */
    query_roster_generations_max = 100000,  /* bound of the per-generation loop */
};

/* One page of a list: page >= 1, 1 <= per_page <= query_per_page_max. */
struct query_page {
    uint32_t page;
    uint32_t per_page;
};

/* Filters of the report, the histogram and the catalogue.  A NULL/false
 * member does not filter. */
struct query_filter {
    bool has_dept;
    struct ltd_hash dept; /* department record id */
    const char *category; /* exact category text; borrowed */
    bool has_app;
    struct ltd_hash app; /* application id (= the activity) */
};

enum query_sort { QUERY_SORT_SID = 0, QUERY_SORT_COUNT = 1 };

/* The all-students report. */
struct query_report {
    struct query_filter f;
    enum query_sort sort; /* by student number, or by count (ties by sid) */
    bool desc;            /* descending */
    bool nonzero;         /* only students with at least one (matching) legal ticket */
    struct query_page pg; /* ignored by the CSV export, which has every row */
};

/* Roles are bits so that handlers can ask for a set of them. */
enum query_role_kind {
    QUERY_ROLE_NONE = 0,
    QUERY_ROLE_ADMIN = 1 << 0,
    QUERY_ROLE_DEPARTMENT = 1 << 1,
    QUERY_ROLE_STUDENT = 1 << 2,
};

/* The role of a public key, from the ledger. */
struct query_role {
    unsigned role;        /* one enum query_role_kind value */
    int dept_status;      /* department: enum ltdrs_dept_status; else -1 */
    struct ltd_hash dept; /* department: its record id */
    char sid[33];         /* student: the number this key is bound to now */
    char name[201];       /* department name, or the student's name ("" if none) */
};

/* Student by number (public).  {"sid","on_roster","registered","key","name",
 * "legal_tickets","tickets":[ticket...]} where each ticket is the object of
 * query_ticket.  Returns LTD_OK, LTD_E_L_BAD_SID (malformed number),
 * LTD_E_NOT_FOUND (not on the roster, never registered), or a store error. */
LTD_MUST_CHECK enum ltd_err query_student(struct store *st, const char *sid, struct buf *out,
                                          struct ltd_errbuf *eb);

/* Parses "<64 lowercase hex>:<index 0..65535, no leading zeros>".  False
 * (outputs zeroed) when malformed. */
LTD_MUST_CHECK bool query_ticket_parse(const char *s, struct ltd_hash *txid, uint32_t *index);

/* One ticket output (public): {"ticket","transaction_id","output_index",
 * "holder":"student"|"department","sid","student_key","amount","activity":{..},
 * "department":{..},"legal","why_not","history":[{"event","transaction_id",
 * "height"[,"reason"]}]}.  LTD_E_NOT_FOUND when (txid, index) is not an
 * output of a ticket asset. */
LTD_MUST_CHECK enum ltd_err query_ticket(struct store *st, const struct ltd_hash *txid,
                                         uint32_t index, struct buf *out, struct ltd_errbuf *eb);

/* The all-students report as JSON: {"page","per_page","total","students":
 * [{"sid","name","legal_tickets"}]}.  Unknown department/activity ids in
 * the filter simply match nothing. */
LTD_MUST_CHECK enum ltd_err query_report_json(struct store *st, const struct query_report *r,
                                              struct buf *out, struct ltd_errbuf *eb);
/* The same rows, every page, as CSV with the header sid,name,legal_tickets
 * (RFC 4180 quoting; cells starting with = + - @ tab or CR get a leading
 * apostrophe against formula injection). */
LTD_MUST_CHECK enum ltd_err query_report_csv(struct store *st, const struct query_report *r,
                                             struct buf *out, struct ltd_errbuf *eb);

/* Students per legal-ticket count under the filter: {"students","buckets":
 * [n0..n9, n10plus],"labels":["0",..,"10+"]}. */
LTD_MUST_CHECK enum ltd_err query_histogram(struct store *st, const struct query_filter *f,
                                            struct buf *out, struct ltd_errbuf *eb);

/* Catalogue (public): approved activities, newest start first, filtered by
 * f->dept and f->category: {"page","per_page","total","activities":[..]}. */
LTD_MUST_CHECK enum ltd_err query_activities(struct store *st, const struct query_filter *f,
                                             const struct query_page *pg, struct buf *out,
                                             struct ltd_errbuf *eb);

/* One application with its ticket statistics.  An application that is not
 * approved is visible only when `admin` or when `viewer_dept` is its
 * department; otherwise LTD_E_NOT_FOUND, as for an unknown id. */
LTD_MUST_CHECK enum ltd_err query_activity(struct store *st, const struct ltd_hash *app, bool admin,
                                           const struct ltd_hash *viewer_dept, struct buf *out,
                                           struct ltd_errbuf *eb);

/* Applications of one department (dept != NULL) or of all (NULL), with
 * status -1 (any) or enum ltdrs_dept_status, newest first, with reasons:
 * {"page","per_page","total","applications":[..]}. */
LTD_MUST_CHECK enum ltd_err query_applications(struct store *st, const struct ltd_hash *dept,
                                               int status, const struct query_page *pg,
                                               struct buf *out, struct ltd_errbuf *eb);

/* Departments by name: public = certified ones {"id","name","status"};
 * admin = all, plus "contact","public_key","reason". */
LTD_MUST_CHECK enum ltd_err query_departments(struct store *st, bool admin, struct buf *out,
                                              struct ltd_errbuf *eb);

/* Statistics of one department (dept != NULL) or a list of every visible
 * department (NULL): applications by status, tickets requested, approved,
 * distributed, remaining, lapsed, returned, revoked, legal.  Not certified
 * departments are visible to the admin only (else LTD_E_NOT_FOUND). */
LTD_MUST_CHECK enum ltd_err query_department_stats(struct store *st, const struct ltd_hash *dept,
                                                   bool admin, struct buf *out,
                                                   struct ltd_errbuf *eb);

/* The roster (admin): {"generation" (the highest, 0 without a roster),
 * "students" (numbers on the roster), "registered" (of them, bound to a key
 * now), "unregistered", "off_roster" (bound students registered without a
 * roster entry: open registration), "generations":[{"generation",
 * "students","registered"}] ascending, "updated":{"height","time_ms",
 * "time"}|null (the last roster or unbind record)}. */
LTD_MUST_CHECK enum ltd_err query_roster(struct store *st, struct buf *out, struct ltd_errbuf *eb);

/* Distribution history, newest first: the TRANSFERs that handed tickets to
 * students, of one department (dept != NULL) and/or one activity (app !=
 * NULL), or all.  {"page","per_page","total","distributions":[{
 * "transaction_id","height","time_ms","time" (block time, UTC),"activity":
 * {"id","name","start","closed"},"department":{"id","name"},"count",
 * "students":[{"sid","output_index","status":"legal"|"returned"|
 * "revoked"}]}]}.  pg->per_page <= query_distributions_per_page_max.  Ids
 * that match nothing give an empty list. */
LTD_MUST_CHECK enum ltd_err query_distributions(struct store *st, const struct ltd_hash *dept,
                                                const struct ltd_hash *app,
                                                const struct query_page *pg, struct buf *out,
                                                struct ltd_errbuf *eb);

/* Announcements, newest first: {"page","per_page","total","announcements":
 * [{"id","title","text","link","application","activity","height"}]}. */
LTD_MUST_CHECK enum ltd_err query_announcements(struct store *st, const struct query_page *pg,
                                                struct buf *out, struct ltd_errbuf *eb);

/* The unspent department-held outputs of an approved application, for
 * building a distribution: {"application","asset_id","department",
 * "department_key","closed","remaining","outputs":[{"transaction_id",
 * "output_index","amount"}]}.  LTD_E_NOT_FOUND unless approved. */
LTD_MUST_CHECK enum ltd_err query_dept_outputs(struct store *st, const struct ltd_hash *app,
                                               struct buf *out, struct ltd_errbuf *eb);

/* Keys of student numbers (distribution preview), in input order, each
 * number once: {"<sid>":{"status":"ok"|"unknown"|"unregistered"|
 * "has_ticket"|"invalid","key":<base58>|null},...}.  has_ticket needs app
 * (NULL: never reported).  n <= query_keys_sids_max (LTD_E_TOO_LARGE). */
LTD_MUST_CHECK enum ltd_err query_student_keys(struct store *st, const char *const *sids, size_t n,
                                               const struct ltd_hash *app, struct buf *out,
                                               struct ltd_errbuf *eb);

/* The role of key: the genesis admin key, a department (any status; the
 * caller decides whether a rejected one may act), or a student whose number
 * the key is bound to now (an unbound old key has no role). */
LTD_MUST_CHECK enum ltd_err query_role(struct store *st, const struct ltd_pubkey *admin,
                                       const struct ltd_pubkey *key, struct query_role *out,
                                       struct ltd_errbuf *eb);
/* Appends {"public_key","role":"admin"|"department"|"student"|"none"
 * [,"department","status","name"][,"sid"]} for r. */
void query_role_json(const struct query_role *r, const struct ltd_pubkey *key, struct buf *out);
/* "admin", "department", "student" or "none". */
const char *query_role_name(unsigned role);

#endif
