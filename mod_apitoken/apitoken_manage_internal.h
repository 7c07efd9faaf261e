/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_MANAGE_INTERNAL_H
#define APITOKEN_MANAGE_INTERNAL_H

/* What the files of the management handler share: its settings, the state
 * of one API request, and the functions each file offers the others.
 * apitoken_manage_conf.c  the directives and their merge
 * apitoken_manage_limit.c the create limit (shared memory)
 * apitoken_manage_io.c    HTTP and JSON input/output, CSRF checks
 * apitoken_manage_ops.c   the endpoints
 * apitoken_manage.c       the page, the route table and the handler */

#include <httpd.h>
#include <http_config.h>

#include "at_json.h"
#include "at_ops.h"
#include "apitoken_authn.h"
#include "apitoken_config.h"
#include "apitoken_db.h"

#ifndef AT_MANAGE_ASSETS
#define AT_MANAGE_ASSETS "/usr/share/mod_apitoken/manage"
#endif

#define MANAGE_DEFAULT_LIMIT  10
#define MANAGE_DEFAULT_SCOPE  "tokens"

#define MANAGE_UNSET -1
#define MANAGE_NO_EXPIRY 0      /* ApiTokenManage*Expiry never / none */

typedef struct feature_t {
    const char *name;
    const char *description;
    apr_array_header_t *levels;  /* const char *; NULL = none named */
} feature_t;

typedef struct manage_conf_t {
    int enabled;                     /* ApiTokenManage; MANAGE_UNSET */
    const char *assets;              /* NULL = unset */
    apr_array_header_t *admins;      /* const char *; NULL = unset */
    apr_array_header_t *features;    /* feature_t; NULL = unset */
    int limit;                       /* MANAGE_UNSET */
    const char *scope;               /* NULL = unset */
    apr_int64_t default_expiry;      /* seconds, NO_EXPIRY; MANAGE_UNSET */
    apr_int64_t max_expiry;          /* seconds, NO_EXPIRY; MANAGE_UNSET */
} manage_conf_t;

/* One API request. */
typedef struct mreq_t {
    request_rec *r;
    const manage_conf_t *conf;
    const char *account;         /* REMOTE_USER */
    const char *owner;           /* whose tokens: account, or ?owner= */
    int admin;
    const apitoken_req_t *tok;   /* set when signed in with an API token */
    at_json_t *body;             /* parsed JSON body, or NULL */
    apitoken_conn_t *conn;
    at_store_t *store;
    const char *prefix;
    at_time_t now;
    int track_usage;             /* ApiTokenTrackUsage here */
} mreq_t;

/* apitoken_manage_limit.c */
int manage_limit_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp);
int manage_limit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);
void manage_limit_child_init(apr_pool_t *pchild, server_rec *s);
/* 0 when the account may create one more token now (and counts it), else
 * the seconds until it may. */
int manage_limit_take(request_rec *r, const char *account, int limit);

/* apitoken_manage_io.c: the answers.  manage_fail sends the JSON error and
 * returns DONE, so callers stop at the first answer that is not OK. */
void manage_security_headers(request_rec *r);
int manage_send_text(request_rec *r, int status, const char *ctype,
                     const char *body, apr_size_t len);
int manage_send_json(request_rec *r, int status, at_jbuf_t *b);
int manage_fail(request_rec *r, int status, const char *code,
                const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int manage_ops_fail(mreq_t *m, apr_status_t rv, const at_ops_t *o);
void manage_json_token(at_jbuf_t *b, const at_token_rec_t *t, at_time_t now,
                       const char *secret);
int manage_send_token(mreq_t *m, int status, const at_token_rec_t *t,
                      char *secret);

/* apitoken_manage_io.c: the request. */
const char *manage_query_param(request_rec *r, const char *name, int *bad);
int manage_csrf_check(mreq_t *m);
int manage_read_body(mreq_t *m);
int manage_only_fields(mreq_t *m, const char *const *names);
int manage_field_str(mreq_t *m, const char *key, const char **out);
int manage_field_bool(mreq_t *m, const char *key, int *out);
int manage_field_words(mreq_t *m, const char *key,
                       apr_array_header_t **out);
int manage_field_expiry(mreq_t *m, at_time_t *out, int *given);
at_time_t manage_default_expiry(const mreq_t *m);
int manage_check_expiry(mreq_t *m, at_time_t t);
void manage_ops_setup(mreq_t *m, at_ops_t *o);
int manage_db_open(mreq_t *m);

/* apitoken_manage_ops.c: the endpoints. */
int manage_op_list(mreq_t *m);
int manage_op_create(mreq_t *m);
int manage_op_audit(mreq_t *m);
int manage_op_features(mreq_t *m);
int manage_op_patch(mreq_t *m, const char *id);
int manage_op_delete(mreq_t *m, const char *id);
int manage_op_revoke(mreq_t *m, const char *id);
int manage_op_rotate(mreq_t *m, const char *id);

#endif
