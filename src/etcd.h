/*
 * etcd.h - a small client for etcd 3.4's v3 JSON gateway (libcurl + jansson),
 * for ordering ledger batches through a 3-member etcd cluster
 * (docs/etcd-ordering.md §7).
 *
 * What it does: unary calls (health, status, put, get, range, compaction and
 * the guarded write-once append of §7.3) over keep-alive HTTP/1.1 handles
 * with endpoint failover, and a watch that streams PUT events in revision
 * order on its own thread, reconnecting to another member when a stream
 * closes, reports "no leader" or goes silent.
 *
 * What it deliberately does not do:
 *   - retry a write after its request may have reached etcd.  A timeout, a
 *     503 or a connection lost after sending means "outcome unknown"; the
 *     call returns that, and the caller decides (the append guard makes a
 *     retry of the same key and bytes safe).  Only a refused connection, where
 *     nothing was sent, moves a write on to the next endpoint.
 *   - leases, deletes, sorting, TLS client certificates, authentication.
 *
 * Errors (until err.h gets etcd codes, see the report in the change note):
 *   LTD_E_USAGE          bad argument, or etcd answered gRPC code 3 (invalid
 *                        argument); nothing was written
 *   LTD_E_TOO_LARGE      request over request_bytes_max (checked before
 *                        sending), etcd said "request is too large", or the
 *                        answer exceeded response_bytes_max
 *   LTD_E_HTTP_TIMEOUT   no member answered usably: connection refused on
 *                        every endpoint, timeout, 503 (gRPC 14 "request timed
 *                        out" / "no leader"), gRPC 4 or 1.  For writes: the
 *                        outcome is unknown
 *   LTD_E_OVERLOAD       HTTP 429 / gRPC 8 (NOSPACE alarm: quota exhausted);
 *                        nothing was written
 *   LTD_E_NOT_FOUND      etcd_get: no such key; range/compaction: gRPC 11,
 *                        the revision has been compacted (or is in the future)
 *   LTD_E_IO             anything else: an answer that does not parse or has
 *                        the wrong shape, an unexpected HTTP status
 * Every call takes an optional `struct ltd_errbuf *eb` that receives a
 * message naming the endpoint and etcd's own error text.
 *
 * Threads: one `struct etcd_client` may be shared by any number of threads;
 * each call borrows a libcurl easy handle from a small mutex-protected pool.
 * Keys and values are byte strings (pointer + length), base64-encoded on the
 * wire by this module.
 */
#ifndef LTD_ETCD_H
#define LTD_ETCD_H

#include "err.h"
#include "ltd.h"

/* Named limits and defaults (rule 10).  The request limit mirrors etcd's own
 * --max-request-bytes default (1.5 MiB of protobuf, not of JSON). */
enum {
    etcd_endpoints_max = 16,                      /* endpoints in one client */
    etcd_endpoint_bytes_max = 256,                /* one endpoint URL */
    etcd_key_bytes_max = 4096,                    /* one key or range end */
    etcd_request_bytes_max = 1536 * 1024,         /* default: key(s) + value of one request */
    etcd_response_bytes_max = 64 * 1024 * 1024,   /* default: one unary answer (JSON) */
    etcd_watch_line_bytes_max = 16 * 1024 * 1024, /* default: one watch result line */
    etcd_connect_timeout_ms = 1000,               /* default: TCP connect */
    etcd_request_timeout_ms = 10000,              /* default: one unary call; above etcd's 7 s */
    etcd_watch_liveness_ms = 30000,               /* default: watch silence before reconnect */
    etcd_watch_backoff_ms_max = 2000,             /* pause between failed watch connects */
    etcd_idle_handles_max = 8,                    /* idle keep-alive handles kept in the pool */
};

/* Endpoint index meaning "whichever member answers" (preferred one first). */
#define ETCD_ENDPOINT_ANY ((size_t)-1)

struct etcd_config {
    const char *endpoints;       /* "http://127.0.0.1:23791,http://..." (borrowed, copied) */
    unsigned connect_timeout_ms; /* TCP connect, per endpoint */
    unsigned request_timeout_ms; /* whole unary call, per endpoint */
    unsigned watch_liveness_ms;  /* must exceed etcd's progress-notify interval (default
                                    10 min; scripts/etcd3.sh sets 1 s), else a quiet watch
                                    reconnects every period (harmless, wasteful) */
    size_t request_bytes_max;    /* 64 KiB..64 MiB; must not exceed etcd's --max-request-bytes */
    size_t response_bytes_max;   /* a range answer above this fails: page with limit */
    size_t watch_line_bytes_max; /* one watch line; with fragment a line holds up to about
                                    2 x etcd's --max-request-bytes of base64 (~4.2 MB) */
};

/* Fills *cfg with the defaults above and endpoints = NULL. */
void etcd_config_init(struct etcd_config *cfg);

struct etcd_client;

/* Creates a client over cfg->endpoints (comma list of http:// or https://
 * URLs, 1..etcd_endpoints_max).  The first endpoint is preferred until it
 * fails.  Nothing is contacted here.
 * [out] *out: owned by the caller, freed with etcd_client_free; NULL on error.
 * Returns LTD_OK, or LTD_E_USAGE (empty/bad/too many endpoints, zero
 * timeouts or limits). */
LTD_MUST_CHECK enum ltd_err etcd_client_new(const struct etcd_config *cfg, struct etcd_client **out,
                                            struct ltd_errbuf *eb);

/* Frees the client and its pooled handles.  Every watch started on it must
 * have been stopped (asserted); no call may be in progress.  NULL is a no-op. */
void etcd_client_free(struct etcd_client *c);

/* Number of endpoints and the URL of one (borrowed, valid until free). */
size_t etcd_endpoint_count(const struct etcd_client *c);
const char *etcd_endpoint_url(const struct etcd_client *c, size_t i);

/* GET /health on member `endpoint`, or on each in turn for ETCD_ENDPOINT_ANY
 * until one says {"health":"true"}.
 * Returns LTD_OK (healthy), LTD_E_HTTP_TIMEOUT (unreachable or unhealthy:
 * no leader, alarm), LTD_E_USAGE (bad index), LTD_E_IO (odd answer). */
LTD_MUST_CHECK enum ltd_err etcd_health(struct etcd_client *c, size_t endpoint,
                                        struct ltd_errbuf *eb);

/* POST /v3/maintenance/status: one member's view. */
struct etcd_status {
    char version[32];       /* "3.4.23" */
    size_t endpoint;        /* index of the member that answered */
    uint64_t member_id;     /* header.member_id */
    uint64_t leader;        /* member id of the leader; 0 = none */
    int64_t revision;       /* header.revision */
    int64_t db_size;        /* bytes of the backend file */
    int64_t db_size_in_use; /* bytes in use (the rest is freed by defrag) */
    uint64_t raft_index;    /* raft log index */
    uint64_t raft_term;     /* raft term */
};
/* [out] *out is zeroed on failure.  Returns LTD_OK, LTD_E_HTTP_TIMEOUT,
 * LTD_E_USAGE (bad index), LTD_E_IO. */
LTD_MUST_CHECK enum ltd_err etcd_status(struct etcd_client *c, size_t endpoint,
                                        struct etcd_status *out, struct ltd_errbuf *eb);

/* Unconditional put.  Not retried once sent (see the file comment); note that
 * libcurl itself resends a request once when a reused keep-alive connection
 * turns out dead before any answer, so a put may rarely be applied twice
 * (use etcd_append when that matters: its guard makes a resend harmless).
 * [out] *revision (may be NULL): the revision of the put; 0 on failure.
 * Returns LTD_OK, LTD_E_USAGE (empty or long key), LTD_E_TOO_LARGE,
 * LTD_E_HTTP_TIMEOUT (outcome unknown), LTD_E_OVERLOAD, LTD_E_IO. */
LTD_MUST_CHECK enum ltd_err etcd_put(struct etcd_client *c, const void *key, size_t key_len,
                                     const void *value, size_t value_len, int64_t *revision,
                                     struct ltd_errbuf *eb);

/* One key-value as etcd returns it.  key and value point into the owning
 * etcd_range_result's arena and are NUL-terminated for convenience (the
 * lengths are authoritative; both may contain NULs).  With keys_only the
 * value is empty. */
struct etcd_kv {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    int64_t create_revision; /* revision of the key's creation */
    int64_t mod_revision;    /* revision of the last put (== create for write-once keys) */
    int64_t version;         /* number of puts since creation */
};

struct etcd_range_result {
    struct etcd_kv *kvs; /* kvs_len entries in key order (owned, in arena) */
    size_t kvs_len;
    bool more;          /* more keys in the range beyond limit */
    int64_t count;      /* keys in the whole range (from key to range_end) */
    int64_t revision;   /* header.revision: the store's revision when answered (also for a
                           pinned read); pin later pages to the first page's */
    struct arena arena; /* owns kvs and their bytes */
};
/* Frees what the result owns and zeroes it; safe on a zeroed result. */
void etcd_range_result_release(struct etcd_range_result *r);

enum etcd_range_flags {
    ETCD_RANGE_COUNT_ONLY = 1 << 0,   /* count only, no kvs */
    ETCD_RANGE_KEYS_ONLY = 1 << 1,    /* kvs without values */
    ETCD_RANGE_SERIALIZABLE = 1 << 2, /* answer from the member's local state:
                                         works without quorum, may be stale; never
                                         for ledger decisions (§7.7) */
};

struct etcd_range_req {
    const void *key; /* first key (required, non-empty) */
    size_t key_len;
    const void *range_end; /* NULL: only `key`; else keys in [key, range_end).
                              "\0" (len 1) means every key >= key */
    size_t range_end_len;
    int64_t limit;    /* 0 = no limit */
    int64_t revision; /* 0 = current; else read the snapshot at that revision */
    unsigned flags;   /* enum etcd_range_flags */
};

/* POST /v3/kv/range.  Reads fail over to the next member on connection
 * errors, timeouts and 503.
 * [out] *out: filled on LTD_OK (caller releases with
 * etcd_range_result_release); zeroed on failure.
 * Returns LTD_OK, LTD_E_USAGE, LTD_E_NOT_FOUND (revision compacted or future, gRPC 11),
 * LTD_E_TOO_LARGE (answer over response_bytes_max: use a limit),
 * LTD_E_HTTP_TIMEOUT, LTD_E_IO. */
LTD_MUST_CHECK enum ltd_err etcd_range(struct etcd_client *c, const struct etcd_range_req *req,
                                       struct etcd_range_result *out, struct ltd_errbuf *eb);

/* Range of exactly one key (flags: ETCD_RANGE_SERIALIZABLE or 0).
 * [out] *out as for etcd_range, with kvs_len == 1 on LTD_OK.
 * Returns LTD_E_NOT_FOUND (out zeroed) when the key does not exist, else as
 * etcd_range. */
LTD_MUST_CHECK enum ltd_err etcd_get(struct etcd_client *c, const void *key, size_t key_len,
                                     unsigned flags, struct etcd_range_result *out,
                                     struct ltd_errbuf *eb);

/* Writes the end of the range of every key starting with prefix (the prefix
 * with its last byte incremented, trailing 0xff bytes dropped; "\0" if the
 * prefix is all 0xff) into out[0..prefix_len) and returns its length.
 * prefix_len must be 1..etcd_key_bytes_max. */
size_t etcd_prefix_end(const void *prefix, size_t prefix_len, uint8_t *out);

/* Outcome of a guarded append.  Zero is UNKNOWN, so a cleared result never
 * claims success. */
enum etcd_append_outcome {
    ETCD_APPEND_UNKNOWN = 0,  /* may or may not be committed: retry the same key and bytes */
    ETCD_APPEND_APPENDED,     /* committed now; revision = its place in the global order */
    ETCD_APPEND_EXISTS_SAME,  /* an earlier attempt committed these exact bytes;
                                 revision = their create_revision */
    ETCD_APPEND_EXISTS_OTHER, /* key holds different bytes: two writers share a
                                 sub-log (configuration error: stop) */
    ETCD_APPEND_GAP,          /* prev_key does not exist: resync the sequence */
};

struct etcd_append_result {
    enum etcd_append_outcome outcome;
    int64_t revision; /* APPENDED / EXISTS_*: create revision of key; else 0 */
};

/* The write-once append of §7.3, one POST /v3/kv/txn:
 *   compare CREATE(prev_key) > 0 (skipped when prev_key is NULL, i.e. k == 1)
 *           CREATE(key) == 0
 *   success put key = value; failure range key.
 * Never retried after sending.  A refused connection (nothing sent) moves on
 * to the next endpoint; after a timeout or 503 the preferred endpoint is
 * rotated so that the caller's retry goes to another member.
 * [out] *out: always written; outcome UNKNOWN on every error return.
 * Returns LTD_OK with outcome APPENDED, EXISTS_SAME, EXISTS_OTHER or GAP;
 * LTD_E_HTTP_TIMEOUT (outcome unknown: connection lost, timeout, 503),
 * LTD_E_IO (answer unreadable: outcome unknown),
 * LTD_E_OVERLOAD (NOSPACE: not written), LTD_E_TOO_LARGE / LTD_E_USAGE (not
 * sent or refused: not written; do not retry unchanged). */
LTD_MUST_CHECK enum ltd_err etcd_append(struct etcd_client *c, const void *prev_key,
                                        size_t prev_key_len, const void *key, size_t key_len,
                                        const void *value, size_t value_len,
                                        struct etcd_append_result *out, struct ltd_errbuf *eb);

/* POST /v3/kv/compaction at `revision` (physical: wait until the backend
 * dropped the history).  Returns LTD_OK, LTD_E_NOT_FOUND (already compacted
 * at or beyond it), LTD_E_USAGE (revision <= 0 or in the future),
 * LTD_E_HTTP_TIMEOUT, LTD_E_IO. */
LTD_MUST_CHECK enum ltd_err etcd_compact(struct etcd_client *c, int64_t revision, bool physical,
                                         struct ltd_errbuf *eb);

/* ---- watch ---- */

enum etcd_watch_kind {
    ETCD_WATCH_PUT = 1,      /* key, value, create_revision, mod_revision */
    ETCD_WATCH_PROGRESS,     /* revision = header revision of a progress notification */
    ETCD_WATCH_DISCONNECTED, /* informational: stream lost (reason); the watch reconnects
                                to another member from revision (the next one wanted) */
    ETCD_WATCH_COMPACTED,    /* terminal: revision = compact_revision; catch up by
                                paged ranges, then start a new watch */
    ETCD_WATCH_FAILED,       /* terminal: reason (e.g. a line over watch_line_bytes_max) */
};

/* Borrowed for the duration of the callback only. */
struct etcd_watch_event {
    enum etcd_watch_kind kind;
    const uint8_t *key; /* PUT only; NUL-terminated copy, key_len authoritative */
    size_t key_len;
    const uint8_t *value; /* PUT only; NUL-terminated copy, value_len authoritative */
    size_t value_len;
    int64_t create_revision; /* PUT */
    int64_t mod_revision;    /* PUT: events arrive in strictly non-decreasing order */
    int64_t revision;        /* PROGRESS / DISCONNECTED / COMPACTED, see above */
    const char *reason;      /* DISCONNECTED / FAILED: human-readable cause */
    size_t endpoint;         /* index of the member the stream was on */
};

/* Called on the watch thread, one event at a time, in revision order.
 * Return 0 to continue, nonzero to end the watch (no further callbacks).
 * Must not call etcd_watch_stop on its own watch. */
typedef int (*etcd_watch_cb)(void *arg, const struct etcd_watch_event *ev);

struct etcd_watch;

/* Starts a watch on [key, range_end) (range_end NULL: the single key) from
 * start_revision (0 = from now) on its own thread: POST /v3/watch with
 * progress_notify, fragment and "Grpc-Metadata-hasleader: true".  PUT events
 * are delivered in order, each exactly once across reconnects (a reconnect
 * resumes after the last event delivered, including inside a fragmented
 * revision); DELETE events are skipped.  On a closed stream, an error line
 * ("no leader"), a cancel without compaction or silence longer than
 * watch_liveness_ms it reports DISCONNECTED and reconnects to the next member
 * (pausing up to etcd_watch_backoff_ms_max after consecutive failures).
 * [out] *out: owned by the caller, who must call etcd_watch_stop (also after
 * a terminal event); NULL on error.  The client must outlive the watch.
 * Returns LTD_OK, LTD_E_USAGE (bad key/range/revision), LTD_E_IO (thread). */
LTD_MUST_CHECK enum ltd_err etcd_watch_start(struct etcd_client *c, const void *key, size_t key_len,
                                             const void *range_end, size_t range_end_len,
                                             int64_t start_revision, etcd_watch_cb cb, void *arg,
                                             struct etcd_watch **out, struct ltd_errbuf *eb);

/* Stops the watch (interrupting any wait at once), joins its thread and
 * frees it.  No callback runs after it returns.  NULL is a no-op. */
void etcd_watch_stop(struct etcd_watch *w);

#endif
