/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_OPS_H
#define AT_OPS_H

/* The token operations shared by the `apitoken` tool and the module's
 * management API: same validation, same store calls, same audit events.
 * Each operation is one transaction on the store (begin, change, audit
 * event, change marker, commit) and leaves no transaction open.
 *
 * Return codes (o->error holds one line naming the bad value on failure):
 *   APR_SUCCESS   done
 *   APR_EINVAL    a value failed validation (tool: exit 2; web: 400)
 *   APR_ENOENT    a scope's feature is not in the catalogue (2; 422)
 *   APR_NOTFOUND  no such token, or not one of o->owner's (1; 404)
 *   APR_EEXIST    the owner already has a token with that name (1; 409)
 *   APR_EBUSY     the token's state forbids it: rotate a revoked token,
 *                 remove a scope it does not have (1; 409)
 *   APR_EACCES    the token, before or after the change, would reach
 *                 beyond o->bound (web: 403)
 *   APR_EGENERAL  database error (3; 503)
 *
 * No httpd headers; memory comes from o->pool. */

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "at_store.h"
#include "at_time.h"
#include "at_token.h"

/* What a caller that is itself an API token holds (the management API
 * signed in with a token).  Every token such a caller creates, changes or
 * receives a secret for must lie within it, before and after the change:
 * no full access unless the caller has it, only scopes the caller's
 * satisfy, an expiry no later than the caller's, networks inside the
 * caller's, resource patterns covered by the caller's (at_resources_covered:
 * a restricted caller cannot make an unrestricted token).  A new token
 * inherits the caller's expiry, networks and resources when none are
 * given.  The check runs on the record as it will be written,
 * inside the transaction, right before the write. */
typedef struct at_ops_bound_t {
    int full_access;
    const apr_array_header_t *scopes;   /* normalised (const char *) */
    at_time_t expires;                  /* AT_TIME_NONE = never */
    const char *nets;                   /* "" or NULL = any address */
    const char *resources;              /* "" or NULL = any resource */
} at_ops_bound_t;

/* The longest grace a rotation may give the old secret. */
#define AT_GRACE_MAX (366 * 86400)

typedef struct at_ops_t {
    at_store_t *store;
    const char *actor;          /* who, for the audit table */
    at_time_t now;
    const char *prefix;         /* token prefix of the schema */
    const char *owner;          /* NULL: any token; else only this owner's */
    apr_hash_t *features;       /* NULL: no catalogue; else known features */
    const at_ops_bound_t *bound;  /* NULL: acts as the account */
    apr_pool_t *pool;
    const char *error;          /* out: why the last operation failed */
    const char *field;          /* out: the request field a refused
                                 * at_ops_check_create value came from
                                 * ("owner", "name", "description",
                                 * "scopes", "full_access", "expires",
                                 * "nets", "resources"), else NULL */
    int unchanged;              /* out: the last edit changed nothing (and
                                 * wrote no audit event) */
} at_ops_t;

/* Set up o; owner, features and bound start NULL. */
void at_ops_init(at_ops_t *o, at_store_t *store, const char *actor,
                 at_time_t now, const char *prefix, apr_pool_t *p);

typedef struct at_create_req_t {
    const char *owner;
    const char *name;
    const char *description;            /* NULL = none */
    const apr_array_header_t *scopes;   /* raw scope words (const char *) */
    int full_access;
    at_time_t expires;                  /* AT_TIME_NONE = never */
    const char *nets;                   /* raw text; NULL = any address */
    const char *resources;              /* raw patterns; NULL = any */
} at_create_req_t;

/* A new token's values as the store keeps them. */
typedef struct at_create_norm_t {
    apr_array_header_t *scopes;         /* normalised */
    const char *nets;                   /* normalised; "" = any */
    const char *resources;              /* normalised; "" = any */
} at_create_norm_t;

/* The rules of a new token, without the database: what at_ops_create
 * checks first.  The tool runs it before it opens the database, so a bad
 * value is a usage error even when the database is down.  o->store may be
 * NULL. */
apr_status_t at_ops_check_create(at_create_norm_t *out, at_ops_t *o,
                                 const at_create_req_t *req);

/* Validate, generate, insert, audit.  token receives the full token
 * string (AT_TOKEN_MAX + 1 bytes; the caller shows it once and wipes it).
 * *rec is the stored record. */
apr_status_t at_ops_create(at_token_rec_t **rec, char *token, at_ops_t *o,
                           const at_create_req_t *req);

apr_status_t at_ops_rename(at_token_rec_t **rec, at_ops_t *o,
                           const char *id, const char *name);

typedef struct at_scope_change_t {
    const apr_array_header_t *set;      /* NULL = keep; else the new set */
    const apr_array_header_t *add;      /* NULL or words to add */
    const apr_array_header_t *remove;   /* NULL or words the token has */
    int full;                           /* -1 keep, 0 restricted, 1 full */
} at_scope_change_t;

apr_status_t at_ops_scope(at_token_rec_t **rec, at_ops_t *o, const char *id,
                          const at_scope_change_t *ch);

/* Several changes to one token as one transaction: all are applied or
 * none.  Each field that changes gets its own audit event (rename,
 * scope, expire, describe, networks, resources); when no field changes, nothing is
 * written and o->unchanged is set.  Rename, scope and expire behave the
 * same. */
typedef struct at_token_edit_t {
    const char *name;                   /* NULL = keep */
    const at_scope_change_t *scope;     /* NULL = keep */
    int expires_set;                    /* 0 = keep */
    at_time_t expires;                  /* AT_TIME_NONE = never */
    const char *description;            /* NULL = keep; "" = none */
    const char *nets;                   /* NULL = keep; "" = any address */
    /* Resource patterns (raw text): the new set (NULL = keep, "" =
     * unrestricted), then patterns added and removed (NULL = none).
     * Removing a pattern the token does not have is APR_EBUSY. */
    const char *resources;
    const char *add_resources;
    const char *remove_resources;
} at_token_edit_t;

apr_status_t at_ops_edit(at_token_rec_t **rec, at_ops_t *o, const char *id,
                         const at_token_edit_t *e);

/* Any time, past ones included (the token is expired from then on). */
apr_status_t at_ops_expire(at_token_rec_t **rec, at_ops_t *o, const char *id,
                           at_time_t expires);

/* Revoking a revoked token changes nothing and succeeds.  reason (NULL
 * or text as a description) goes into the audit event. */
apr_status_t at_ops_revoke(at_token_rec_t **rec, at_ops_t *o,
                           const char *id, const char *reason);

/* New secret, same id; with grace > 0 seconds (at most AT_GRACE_MAX) the
 * old secret keeps working until now + grace.  token as for create.
 * While an earlier rotation's grace still runs, rotating again ends that
 * earlier secret at once: APR_EBUSY unless force; with force, *ended is
 * set to 1 (ended may be NULL). */
apr_status_t at_ops_rotate(at_token_rec_t **rec, char *token, at_ops_t *o,
                           const char *id, apr_int64_t grace, int force,
                           int *ended);

/* *rec is the record as it was before deletion. */
apr_status_t at_ops_delete(at_token_rec_t **rec, at_ops_t *o,
                           const char *id);

/* Audit events, oldest first (array of at_audit_rec_t *).  token_id NULL
 * gives every event o may see: all of them without o->owner, else those
 * whose owner column is o->owner (the owner's tokens, deleted ones
 * included).  With o->owner, a token_id without such events is
 * APR_NOTFOUND. */
apr_status_t at_ops_audit(apr_array_header_t **evs, at_ops_t *o,
                          const char *token_id);

/* The owner's tokens (all without owner), as at_store_list. */
apr_status_t at_ops_list(apr_array_header_t **recs, at_ops_t *o,
                         const char *owner);

/* With a catalogue: APR_ENOENT and o->error when a scope's feature is not
 * in it.  what names the operation for the message. */
apr_status_t at_ops_check_features(at_ops_t *o,
                                   const apr_array_header_t *scopes,
                                   const char *what);

/* What at_ops_init_store did. */
typedef struct at_ops_init_t {
    const char *prefix;         /* the schema's token prefix */
    int created;                /* a new schema */
    int upgraded;               /* an older schema brought up to date */
} at_ops_init_t;

/* Create the schema, or upgrade an older one, with want_prefix (NULL: the
 * schema's own, or AT_DEFAULT_PREFIX for a new one; a different prefix
 * than the schema's is APR_EEXIST).  A creation or an upgrade is audited
 * ("init"); a schema already up to date is left as it is.  o->prefix is
 * not used. */
apr_status_t at_ops_init_store(at_ops_init_t *res, at_ops_t *o,
                               const char *want_prefix);

/* Delete the tokens that ended (revoked, or expired) before `before`
 * (AT_TIME_NONE: any time), one audit event each and one for the prune;
 * dry_run: only say which.  *gone: their ids (const char *). */
apr_status_t at_ops_prune(apr_array_header_t **gone, at_ops_t *o,
                          at_time_t before, int dry_run);

/* A leaked token string: genuine when it parses with the schema's prefix
 * and checksum, its id exists and the secret's digest matches the current
 * or the previous secret (even after its grace period).  Genuine: revokes
 * it unless revoked already (*already = 1) and records an audit event
 * "revoke" with the reason, all in one transaction; *rec is the token.
 * Not genuine: APR_NOTFOUND, and o->error names nothing about the token.
 * The caller wipes the string. */
apr_status_t at_ops_revoke_leaked(at_token_rec_t **rec, int *already,
                                  at_ops_t *o, const char *token,
                                  const char *reason);

/* Revoke every token of owner not yet revoked (expired ones too: a new
 * expiry would bring them back) in one transaction, one audit event per
 * token.  *recs: the tokens revoked now (at_token_rec_t *), possibly
 * none. */
apr_status_t at_ops_revoke_owner(apr_array_header_t **recs, at_ops_t *o,
                                 const char *owner, const char *reason);

/* Quoted, escaped form of a user-supplied value for an error message:
 * control characters (C0, DEL and C1), backslash, quote and invalid UTF-8
 * become \xNN, one per byte (U+009B: \xc2\x9b); long values are
 * shortened. */
const char *at_ops_quote(const char *s, apr_pool_t *p);

#endif
