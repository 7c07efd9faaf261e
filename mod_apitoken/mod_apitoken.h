/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef MOD_APITOKEN_H
#define MOD_APITOKEN_H

/* The httpd glue of mod_apitoken: types shared by mod_apitoken.c (hooks and
 * registration), apitoken_config.c (directives), apitoken_authn.c
 * (credentials and the token decision), apitoken_authz.c (the
 * "apitoken-scope" provider), apitoken_db.c (per-process store pool) and
 * apitoken_usage.c (last-used tracking).  The core (at_*.h) knows nothing of
 * httpd; only these files include httpd headers. */

#include <httpd.h>
#include <http_config.h>
#include <apr_reslist.h>
#include <apr_thread_mutex.h>
#include <dbi/dbi.h>

#include "at_dburl.h"
#include "at_store.h"
#include "at_token.h"

extern module AP_MODULE_DECLARE_DATA apitoken_module;

#define APITOKEN_AUTH_TYPE "apitoken"
#define APITOKEN_DEFAULT_USAGE_INTERVAL 60
#define APITOKEN_DEFAULT_DB_IDLE_TIMEOUT 60

/* Process-wide settings (ApiTokenDB and friends are global-server only).
 * Allocated from pconf in pre_config, so a restart starts clean. */
typedef struct apitoken_global_t {
    const char *db_text;          /* ApiTokenDB as written (may hold a password) */
    const at_dburl_t *db;         /* parsed; NULL when ApiTokenDB is absent */
    const char *db_file;          /* where ApiTokenDB was set: file */
    int db_line;                  /* and line */
    const char *driver_src_dir;   /* ApiTokenDBDriverDir or the build default */
    const char *driver_dir;       /* private dir with just the one driver */
    int usage_interval;           /* ApiTokenUsageInterval, seconds */
    int max_conns;                /* ApiTokenDBMaxConnections; 0 = threads */
    int idle_timeout;             /* ApiTokenDBIdleTimeout, seconds */
    int db_plain;                 /* ApiTokenDBFastPath Off */
} apitoken_global_t;

extern apitoken_global_t *apitoken_global;

/* ApiTokenAccept: the credential forms a location accepts. */
typedef struct apitoken_accept_t {
    int bearer;
    int basic;
    const char **scheme_words;    /* NULL-terminated; NULL when none */
    const char **header_names;    /* NULL-terminated; NULL when none */
} apitoken_accept_t;

/* ApiTokenBasicUser: the user names Basic may carry with a token.  The
 * owner's name always counts; names compare without regard to the case of
 * ASCII letters. */
typedef struct apitoken_basic_user_t {
    int any;                      /* any user name */
    const char **names;           /* NULL-terminated; NULL when none */
} apitoken_basic_user_t;

/* Per-directory settings.  Each field has a "was set" flag so a merge
 * inherits what the child leaves alone, whatever value the parent has. */
typedef struct apitoken_dir_conf_t {
    const apitoken_accept_t *accept;
    const apitoken_basic_user_t *basic_user;   /* NULL: the owner only */
    unsigned int accept_set:1;
    unsigned int basic_user_set:1;
    unsigned int cache_ttl_set:1;
    unsigned int track_usage_set:1;
    unsigned int strip_set:1;
    int cache_ttl;                /* seconds; 0 = database on every request */
    int track_usage;
    int strip;
    void *manage;                 /* apitoken_manage.c's settings or NULL */
} apitoken_dir_conf_t;

/* What a successful authentication leaves on the request for the authz
 * provider and the usage hook (r->request_config). */
typedef struct apitoken_req_t {
    const at_token_rec_t *rec;
    const apr_array_header_t *granted;  /* normalised scope strings */
    const char *denied_scopes;          /* required scopes a provider refused */
    const char *cred_header;            /* header that carried the credential */
    apr_array_header_t *used_scopes;    /* granted scopes a Require used */
    int authorised;                     /* authz let the request through */
    const request_rec *scrubbed;        /* headers_in scrubbed for this one */
} apitoken_req_t;

/* apitoken_config.c */
extern const command_rec apitoken_cmds[];
void *apitoken_create_dir_conf(apr_pool_t *p, char *dir);
void *apitoken_merge_dir_conf(apr_pool_t *p, void *base, void *add);
const apitoken_accept_t *apitoken_accept_default(void);
int apitoken_check_conftree(apr_pool_t *pconf, server_rec *s);

/* apitoken_authn.c */
int apitoken_check_authn(request_rec *r);
int apitoken_note_auth_failure(request_rec *r, const char *auth_type);
int apitoken_fixups(request_rec *r);
int apitoken_is_ours(request_rec *r);
apitoken_req_t *apitoken_req_get(request_rec *r);

/* apitoken_error.c */
/* The error_description texts that name no token and no reason. */
#define APITOKEN_DESC_NO_CREDENTIALS "this resource needs an access token"
#define APITOKEN_DESC_INVALID_TOKEN "the access token is not valid"
#define APITOKEN_DESC_SCOPE \
    "the token does not hold a scope this resource requires"
/* The challenge alone, without error_description. */
void apitoken_set_challenge(request_rec *r, const char *error,
                            const char *scope);
/* Refuse r with status as RFC 6750 says: the challenge (error NULL: the
 * bare one sent when no credential came; scope: the insufficient_scope
 * attribute or NULL) and desc, a client-safe text, which goes into the
 * challenge as error_description when in_header is set (only once the
 * client has shown it holds the secret) and into the JSON body always.
 * The caller returns status; error, scope and desc must live as long as
 * r (static text or r->pool). */
void apitoken_refuse(request_rec *r, int status, const char *error,
                     const char *scope, const char *desc, int in_header);
/* Forget the refusal (authz granted after all): a later error of this
 * request is not ours. */
void apitoken_refusal_clear(request_rec *r);
void apitoken_error_register_hooks(apr_pool_t *p);

/* apitoken_authz.c */
void apitoken_register_authz(apr_pool_t *p);

/* apitoken_db.c */
apr_status_t apitoken_db_post_config(apr_pool_t *pconf, server_rec *s);
void apitoken_db_child_init(apr_pool_t *pchild, server_rec *s);

typedef struct apitoken_conn_t apitoken_conn_t;

/* The request's database connection, as mod_dbd's ap_dbd_acquire: the
 * first call for a client request (its subrequests and internal redirects
 * included) takes a checked connection from this process's pool and
 * registers its return on that request's pool; every later call returns
 * the same one.  A request holds at most one connection, until it ends;
 * callers never give it back.  APR_SUCCESS with *conn and *store set, or
 * an error after one rate-limited error line (the caller answers 503);
 * after a failure, or once the connection is marked bad, later calls for
 * the request fail at once, without waiting for the pool again. */
apr_status_t apitoken_db_acquire(apitoken_conn_t **conn, at_store_t **store,
                                 request_rec *r);
/* The caller saw a database error on conn: it is closed when the request
 * ends instead of going back to the pool. */
void apitoken_db_mark_bad(apitoken_conn_t *conn);
/* Look the token id up on conn: a prepared statement on SQLite unless
 * ApiTokenDBFastPath is Off, libdbi's query otherwise; the same results
 * as at_store_lookup.  On APR_EGENERAL *err says why (for the log). */
apr_status_t apitoken_db_lookup(at_token_rec_t **rec, apitoken_conn_t *conn,
                                const char *id, const char **err,
                                apr_pool_t *p);
/* The prefix stored with the schema, learnt once per process. */
apr_status_t apitoken_db_prefix(const char **prefix, apitoken_conn_t *conn,
                                request_rec *r);
/* Log that the database is unreachable, at most once per 10 s. */
void apitoken_db_log_down(request_rec *r, const char *why);

/* apitoken_usage.c */
int apitoken_log_transaction(request_rec *r);
void apitoken_usage_child_init(apr_pool_t *pchild);

#endif
