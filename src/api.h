/*
 * api.h - the HTTP API of a node: BigchainDB HTTP API v1 (protocol doc §5)
 * and the LTDRS endpoints, over http.h.  The route table lives in api.c.
 */
#ifndef LTD_API_H
#define LTD_API_H

#include "err.h"
#include "http.h"
#include "ltd.h"
#include "node.h"

struct sessions;

struct api {
    struct node *node;          /* borrowed; must outlive the server */
    struct http_server *srv;    /* set by api_start */
    const char *web_dir;        /* static files of the web UI, or NULL */
    const char *data_dir;       /* for the audit endpoint */
    const char *listen;         /* host:port, for advertised URLs */
    uint32_t commit_timeout_ms; /* node's commit wait (the HTTP deferral adds slack) */
    struct ltd_pubkey node_key; /* listed by /api/v1/validators */
    struct sessions *sessions;  /* LTDRS logins (session.h); NULL = made on first use by
                                 * api_ltdrs.c; free with sessions_free after api_stop */
};

/* Starts serving api->node on hc->listen.  Registers a node listener that
 * feeds the WebSocket stream.  Stop with api_stop after node_close. */
LTD_MUST_CHECK enum ltd_err api_start(struct api *api, const struct http_config *hc,
                                      struct ltd_errbuf *eb);
void api_stop(struct api *api);

#endif
