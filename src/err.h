/*
 * err.h - the one error space of LTDRS (rule 5).
 *
 * Every failure anywhere in the project is an `enum ltd_err` with a stable
 * number (never reused, never renumbered), an HTTP status, the BigchainDB
 * exception type name that appears in `Invalid transaction (<Type>): ...`
 * messages, and a one-line hint.  Ranges: generic 1-99, json 100-, codecs
 * 150-, tx 200-, crypto-conditions 300-, ledger rules 400-, LTDRS domain
 * rules 450-, store 500-, http 600-, cluster 700-.
 *
 * A detailed, field-naming message travels beside the code in a
 * `struct ltd_errbuf`.  Not here: rendering HTTP bodies (http/api do that).
 */
#ifndef LTD_ERR_H
#define LTD_ERR_H

#include "ltd.h"

/* X(name, number, http status, BigchainDB type name, hint) */
#define LTD_ERRORS(X)                                                                              \
    X(LTD_OK, 0, 200, "", "ok")                                                                    \
    X(LTD_E_INTERNAL, 1, 500, "InternalError", "internal error")                                   \
    X(LTD_E_IO, 2, 500, "IOError", "input/output error")                                           \
    X(LTD_E_USAGE, 3, 400, "UsageError", "bad command line or argument")                           \
    X(LTD_E_NOT_FOUND, 4, 404, "NotFound", "not found")                                            \
    X(LTD_E_TOO_LARGE, 5, 413, "TooLarge", "input exceeds a size limit")                           \
    X(LTD_E_OVERLOAD, 6, 503, "Overloaded", "server busy, retry later")                            \
    X(LTD_E_JSON_SYNTAX, 100, 400, "JSONError", "malformed JSON")                                  \
    X(LTD_E_JSON_DUP_KEY, 101, 400, "JSONError", "duplicate object key")                           \
    X(LTD_E_JSON_DEPTH, 102, 400, "JSONError", "JSON nested too deeply")                           \
    X(LTD_E_JSON_UTF8, 103, 400, "JSONError", "invalid UTF-8")                                     \
    X(LTD_E_JSON_SURROGATE, 104, 400, "JSONError", "lone UTF-16 surrogate escape")                 \
    X(LTD_E_JSON_TOO_LARGE, 105, 413, "JSONError", "JSON document too large")                      \
    X(LTD_E_JSON_NUMBER, 106, 400, "JSONError", "number not representable")                        \
    X(LTD_E_JSON_CONTROL, 107, 400, "JSONError", "raw control character in string")                \
    X(LTD_E_JSON_STRING_LONG, 108, 400, "JSONError", "string too long")                            \
    X(LTD_E_JSON_MEMBERS, 109, 400, "JSONError", "too many members or items")                      \
    X(LTD_E_JSON_TRAILING, 110, 400, "JSONError", "data after the JSON value")                     \
    X(LTD_E_BASE58, 150, 400, "InvalidPublicKey", "invalid base58")                                \
    X(LTD_E_BASE58_NONCANON, 151, 400, "InvalidPublicKey", "non-canonical base58")                 \
    X(LTD_E_BASE64, 152, 400, "ValidationError", "invalid base64url")                              \
    X(LTD_E_HEX, 153, 400, "ValidationError", "invalid hex")                                       \
    X(LTD_E_KEY, 154, 400, "InvalidPublicKey", "key has the wrong size or form")                   \
    X(LTD_E_TX_NO_ID, 200, 400, "InvalidHash", "transaction has no id")                            \
    X(LTD_E_TX_HASH, 201, 400, "InvalidHash", "id is not the hash of the body")                    \
    X(LTD_E_TX_SCHEMA, 202, 400, "SchemaValidationError", "transaction schema violated")           \
    X(LTD_E_TX_KEY_NAME, 203, 400, "ValidationError", "forbidden key name in asset/metadata")      \
    X(LTD_E_TX_LANGUAGE, 204, 400, "ValidationError", "unsupported text-search language")          \
    X(LTD_E_TX_FULFILLMENT, 205, 400, "InvalidSignature", "fulfillment does not parse")            \
    X(LTD_E_TX_AMOUNT, 206, 400, "AmountError", "invalid amount")                                  \
    X(LTD_E_TX_THRESHOLD_DEEP, 207, 400, "ThresholdTooDeep", "threshold nested too deeply")        \
    X(LTD_E_TX_SIGNATURE, 208, 400, "InvalidSignature", "signature does not verify")               \
    X(LTD_E_TX_OWNERS, 209, 400, "OwnersBeforeMismatch", "owners_before do not match keys")        \
    X(LTD_E_TX_PUBKEYS, 210, 400, "PublicKeysMismatch", "public_keys do not match details")        \
    X(LTD_E_TX_URI, 211, 400, "ConditionUriMismatch", "condition uri does not match details")      \
    X(LTD_E_TX_UNSIGNED, 212, 400, "UnsignedFulfillment", "fulfillment carries no signature")      \
    X(LTD_E_TX_AMOUNT_SUM, 213, 400, "AmountError", "sum of amounts overflows")                    \
    X(LTD_E_TX_DUP_INPUT, 214, 400, "DoubleSpend", "one output spent twice in a transaction")      \
    X(LTD_E_TX_NOT_SIGNED, 215, 400, "InvalidSignature", "input has no fulfillment yet")           \
    X(LTD_E_TX_SIGN_KEY, 216, 400, "InvalidSignature", "no input can be signed by this key")       \
    X(LTD_E_CC_DER, 300, 400, "InvalidSignature", "malformed DER")                                 \
    X(LTD_E_CC_TYPE, 301, 400, "InvalidSignature", "unsupported condition type")                   \
    X(LTD_E_CC_DEPTH, 302, 400, "ThresholdTooDeep", "condition nested too deeply")                 \
    X(LTD_E_CC_URI, 303, 400, "ValidationError", "malformed condition URI")                        \
    X(LTD_E_CC_DETAILS, 304, 400, "ValidationError", "malformed condition details")                \
    X(LTD_E_CC_THRESHOLD, 305, 400, "InvalidSignature", "threshold not met")                       \
    X(LTD_E_DUPLICATE_TX, 400, 400, "DuplicateTransaction", "transaction already exists")          \
    X(LTD_E_INPUT_MISSING, 401, 400, "InputDoesNotExist", "spent transaction does not exist")      \
    X(LTD_E_DOUBLE_SPEND, 402, 400, "DoubleSpend", "output already spent")                         \
    X(LTD_E_ASSET_MISMATCH, 403, 400, "AssetIdMismatch", "inputs of different assets")             \
    X(LTD_E_AMOUNT_MISMATCH, 404, 400, "AmountError", "inputs and outputs differ in amount")       \
    X(LTD_E_TX_QUEUED, 405, 400, "DuplicateTransaction", "transaction already queued")             \
    X(LTD_E_OUTPUT_INDEX, 406, 400, "InputDoesNotExist", "spent output index out of range")        \
    X(LTD_E_TX_EXISTS_DIFFERENT, 407, 409, "DuplicateTransaction", "id exists, other body")        \
    X(LTD_E_L_BAD_RECORD, 450, 400, "BadRecord", "malformed LTDRS record")                         \
    X(LTD_E_L_NOT_ADMIN, 451, 400, "NotAdmin", "only the school admin may do this")                \
    X(LTD_E_L_BAD_SID, 452, 400, "BadStudentNumber", "malformed student number")                   \
    X(LTD_E_L_DUP_ROSTER, 453, 400, "DuplicateRosterEntry", "student number already listed")       \
    X(LTD_E_L_SID_BOUND, 454, 400, "StudentAlreadyBound", "student number already registered")     \
    X(LTD_E_L_NOT_ON_ROSTER, 455, 400, "StudentNotOnRoster", "student number not on roster")       \
    X(LTD_E_L_BAD_CODE, 456, 400, "BadActivationCode", "activation code does not match")           \
    X(LTD_E_L_KEY_BOUND, 457, 400, "KeyAlreadyBound", "key already belongs to an identity")        \
    X(LTD_E_L_SID_NOT_BOUND, 458, 400, "StudentNotBound", "student number is not registered")      \
    X(LTD_E_L_DUP_DEPT, 459, 400, "DuplicateDepartment", "department name already used")           \
    X(LTD_E_L_UNKNOWN_DEPT, 460, 400, "UnknownDepartment", "no such department record")            \
    X(LTD_E_L_DECIDED, 461, 400, "AlreadyDecided", "already decided")                              \
    X(LTD_E_L_NOT_CERTIFIED, 462, 400, "DepartmentNotCertified", "department not certified")       \
    X(LTD_E_L_BAD_TIME, 463, 400, "BadActivityTime", "activity times are wrong")                   \
    X(LTD_E_L_BAD_COUNT, 464, 400, "BadTicketCount", "ticket count out of range")                  \
    X(LTD_E_L_DUP_ACTIVITY, 465, 400, "DuplicateActivity", "activity already applied for")         \
    X(LTD_E_L_UNKNOWN_APP, 466, 400, "UnknownApplication", "no such application")                  \
    X(LTD_E_L_OVER_QUOTA, 467, 400, "OverQuota", "more tickets than requested")                    \
    X(LTD_E_L_BAD_TICKET_OUT, 468, 400, "BadTicketOutput", "ticket asset output is wrong")         \
    X(LTD_E_L_ACT_MISMATCH, 469, 400, "ActivityMismatch", "activity differs from application")     \
    X(LTD_E_L_CLOSED, 470, 400, "ActivityClosed", "activity is closed")                            \
    X(LTD_E_L_NOT_TRANSFERABLE, 471, 400, "TicketNotTransferable", "tickets cannot go there")      \
    X(LTD_E_L_KEY_MISMATCH, 472, 400, "StudentKeyMismatch", "key is not the student's")            \
    X(LTD_E_L_NOT_REGISTERED, 473, 400, "StudentNotRegistered", "student not registered")          \
    X(LTD_E_L_HAS_TICKET, 474, 400, "StudentAlreadyHasTicket", "one ticket per activity")          \
    X(LTD_E_L_UNKNOWN_TICKET, 475, 400, "UnknownTicket", "no such student-held ticket")            \
    X(LTD_E_L_REVOKED, 476, 400, "AlreadyRevoked", "ticket already revoked")                       \
    X(LTD_E_L_NOT_ALLOWED, 477, 400, "NotAllowed", "this key may not do this")                     \
    X(LTD_E_L_ALREADY_CLOSED, 478, 400, "AlreadyClosed", "activity already closed")                \
    X(LTD_E_STORE_IO, 500, 500, "StorageError", "storage failed")                                  \
    X(LTD_E_STORE_BUSY, 501, 503, "StorageBusy", "database busy, retry")                           \
    X(LTD_E_STORE_CORRUPT, 502, 500, "StorageCorrupt", "stored data failed a check")               \
    X(LTD_E_STORE_FULL, 503, 507, "StorageFull", "disk full")                                      \
    X(LTD_E_STORE_STOPPED, 504, 503, "WritesStopped", "writes stopped after a storage failure")    \
    X(LTD_E_HTTP_BAD_REQUEST, 600, 400, "BadRequest", "bad request")                               \
    X(LTD_E_HTTP_METHOD, 601, 405, "MethodNotAllowed", "method not allowed")                       \
    X(LTD_E_HTTP_NOT_FOUND, 602, 404, "NotFound", "no such resource")                              \
    X(LTD_E_HTTP_BODY_LARGE, 603, 413, "TooLarge", "request body too large")                       \
    X(LTD_E_HTTP_OVERLOAD, 604, 503, "Overloaded", "too many requests")                            \
    X(LTD_E_HTTP_TIMEOUT, 605, 504, "Timeout", "gave up waiting; outcome unknown")                 \
    X(LTD_E_HTTP_BAD_ARG, 606, 400, "BadRequest", "bad query argument")                            \
    X(LTD_E_ETCD_UNAVAILABLE, 700, 503, "ClusterUnavailable", "ordering log unreachable")          \
    X(LTD_E_ETCD_COMPACTED, 701, 410, "ClusterCompacted", "log history was compacted")             \
    X(LTD_E_ETCD_FUTURE_REV, 702, 400, "ClusterFutureRevision", "revision not yet written")        \
    X(LTD_E_ETCD_NOSPACE, 703, 507, "ClusterNoSpace", "ordering log is out of space")              \
    X(LTD_E_ETCD_REJECTED, 704, 500, "ClusterRejected", "ordering log refused the request")        \
    X(LTD_E_ETCD_PROTOCOL, 705, 502, "ClusterProtocol", "ordering log answered nonsense")          \
    X(LTD_E_ETCD_LOG_CONFLICT, 706, 500, "ClusterLogConflict", "two writers share a node id")      \
    X(LTD_E_ETCD_LOG_GAP, 707, 500, "ClusterLogGap", "own log sequence is out of step")            \
    X(LTD_E_CLUSTER_GENESIS, 708, 400, "ClusterGenesisMismatch", "node has another genesis")

enum ltd_err {
#define LTD_ERR_ENUM(name, num, http, bdb, hint) name = num,
    LTD_ERRORS(LTD_ERR_ENUM)
#undef LTD_ERR_ENUM
};

/* An error code with its detailed message (names the field or rule). */
struct ltd_errbuf {
    enum ltd_err code;          /* LTD_OK when nothing failed */
    char msg[errmsg_bytes_max]; /* NUL-terminated, never holds secrets */
};

/* Records `code` and the formatted message in *eb (eb may be NULL) and
 * returns `code`, so callers write `return ltd_fail(eb, LTD_E_X, "...")`.
 * The first failure wins: a later call does not overwrite an earlier one
 * unless eb->code is LTD_OK. */
enum ltd_err ltd_fail(struct ltd_errbuf *eb, enum ltd_err code, const char *fmt, ...)
    LTD_PRINTF(3, 4);
void ltd_errbuf_clear(struct ltd_errbuf *eb);

const char *ltd_err_name(enum ltd_err e);     /* "LTD_E_TX_HASH"; "?" if unknown */
const char *ltd_err_bdb_type(enum ltd_err e); /* "InvalidHash" */
const char *ltd_err_hint(enum ltd_err e);
int ltd_err_http(enum ltd_err e); /* 500 if unknown */

/* Appends BigchainDB's message text for a transaction failure to out:
 * "Invalid transaction (<Type>): <msg>", "Invalid transaction schema: <msg>"
 * for LTD_E_TX_SCHEMA, and "Failed to decode JSON object: <msg>" for JSON
 * syntax errors. */
void ltd_err_bdb_message(const struct ltd_errbuf *eb, struct buf *out);

#endif
