/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_USAGE_H
#define AT_USAGE_H

/* Knowing how tokens are used, and acting on it: granted versus used
 * scopes, the usage audit (scopes unused for N days, tokens unused for N
 * days, tokens expiring soon, full-access tokens, each with the narrower
 * scope set it could have).  The revocations an incident needs are in
 * at_ops.h.
 *
 * Built on at_ops_t (store, actor, now, pool, error); return codes as in
 * at_ops.h.  No httpd headers. */

#include <apr_pools.h>
#include <apr_tables.h>

#include "at_ops.h"

/* One scope of a token: granted now or not, and its last use. */
typedef struct at_scope_use_t {
    const char *scope;
    int granted;                /* 0: used once, no longer granted */
    at_time_t last_used_at;     /* AT_TIME_NONE = never */
} at_scope_use_t;

/* rec's granted scopes in order, each with its last use, then scopes it
 * used that it no longer holds.  Full access: the scopes it used (all
 * granted).  *uses: array of at_scope_use_t *. */
apr_status_t at_usage_scopes(apr_array_header_t **uses, at_ops_t *o,
                             const at_token_rec_t *rec);

/* Which checks the audit runs; a negative number of days skips one. */
typedef struct at_usage_audit_req_t {
    int unused_scopes_days;
    int unused_days;
    int expiring_days;
    int full_access;            /* 1: list full-access tokens */
    const char *owner;          /* NULL: every owner */
} at_usage_audit_req_t;

#define AT_FINDING_UNUSED_SCOPES "unused_scopes"
#define AT_FINDING_UNUSED        "unused"
#define AT_FINDING_EXPIRING      "expiring"
#define AT_FINDING_FULL_ACCESS   "full_access"

typedef struct at_finding_t {
    const at_token_rec_t *rec;
    const char *kind;           /* one of AT_FINDING_* */
    /* unused_scopes: the granted scopes not used within the window. */
    const apr_array_header_t *unused;
    /* unused_scopes and full_access: the narrower set, the scopes used
     * (within the window for unused_scopes, ever for full_access);
     * normalised, possibly empty.  NULL for the other kinds. */
    const apr_array_header_t *suggest;
} at_finding_t;

/* Audit the active tokens (expired and revoked ones no longer grant
 * anything).  A token is judged on a window only once it is older than
 * the window.  *findings: array of at_finding_t *, by owner, name, then
 * kind in the order of at_usage_audit_req_t. */
apr_status_t at_usage_audit(apr_array_header_t **findings, at_ops_t *o,
                            const at_usage_audit_req_t *req);

#endif
