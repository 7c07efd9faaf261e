/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_STORE_H
#define AT_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "at_nets.h"
#include "at_text.h"
#include "at_time.h"
#include "at_dburl.h"

/* The token store: a small interface with one implementation on libdbi
 * (at_store_dbi.c).  The module and the tool never write SQL themselves.
 *
 * Return codes of every operation:
 *   APR_SUCCESS   done
 *   APR_NOTFOUND  no such token
 *   APR_EEXIST    id or (owner, name) already taken
 *   APR_EINVAL    a value failed validation (never reaches SQL)
 *   APR_EGENERAL  database error; at_store_error() says why (no secrets)
 *
 * A store handle is used by one thread at a time. */

/* 2: apitoken_scope_usage (which granted scopes a token exercised).
 * 3: apitoken_audit.owner (whose token an event is about).
 * 4: apitoken_tokens.resources (at_resource.h). */
#define AT_SCHEMA_VERSION 4

typedef struct at_token_rec_t {
    const char *id;
    const char *owner;
    const char *name;
    const char *digest;          /* hex SHA-256 of the secret */
    const char *scopes;          /* normalised, space-separated; "" = none */
    int full_access;
    at_time_t created_at;
    at_time_t expires_at;        /* AT_TIME_NONE = never */
    at_time_t revoked_at;        /* AT_TIME_NONE = not revoked */
    at_time_t last_used_at;      /* AT_TIME_NONE = never used */
    const char *last_used_addr;  /* "" = never used */
    const char *allowed_nets;    /* space-separated addresses/CIDRs; "" = any */
    const char *description;     /* "" = none */
    const char *prev_digest;     /* "" unless rotated with a grace period */
    at_time_t prev_until;        /* when prev_digest stops working */
    const char *resources;       /* normalised patterns (at_resource.h);
                                  * "" or NULL = unrestricted */
} at_token_rec_t;

typedef struct at_audit_rec_t {
    apr_int64_t seq;
    at_time_t at;
    const char *action;          /* create, rename, scope, expire, revoke, ... */
    const char *token_id;        /* "" for events not about one token */
    const char *actor;
    const char *detail;          /* "" when none; never a secret */
    const char *owner;           /* the token's owner; "" when none or not
                                  * known (events older than schema 3 whose
                                  * owner the upgrade could not tell) */
} at_audit_rec_t;

/* When a token last exercised one scope (schema 2). */
typedef struct at_scope_usage_t {
    const char *token_id;
    const char *scope;
    at_time_t last_used_at;
} at_scope_usage_t;

typedef struct at_store_t at_store_t;

typedef struct at_store_ops_t {
    const char *name;
    void (*close)(at_store_t *s);
    /* Cheap liveness check; APR_EGENERAL when the connection is dead. */
    apr_status_t (*ping)(at_store_t *s);
    /* Create or upgrade the schema; prefix is stored only on creation.
     * Idempotent. */
    apr_status_t (*init_schema)(at_store_t *s, const char *prefix);
    /* APR_NOTFOUND when the schema does not exist (init not run). */
    apr_status_t (*get_meta)(at_store_t *s, const char **prefix, int *version,
                             apr_int64_t *change_seq, apr_pool_t *p);
    /* write != 0 takes the write lock at once (SQLite: BEGIN IMMEDIATE). */
    apr_status_t (*begin)(at_store_t *s, int write);
    apr_status_t (*commit)(at_store_t *s);
    apr_status_t (*rollback)(at_store_t *s);
    apr_status_t (*lookup)(at_token_rec_t **rec, at_store_t *s, const char *id,
                           apr_pool_t *p);
    apr_status_t (*find_by_name)(at_token_rec_t **rec, at_store_t *s,
                                 const char *owner, const char *name,
                                 apr_pool_t *p);
    apr_status_t (*insert)(at_store_t *s, const at_token_rec_t *rec);
    /* Rewrites every mutable field of the row with rec->id. */
    apr_status_t (*update)(at_store_t *s, const at_token_rec_t *rec);
    apr_status_t (*remove)(at_store_t *s, const char *id);
    /* owner NULL = every owner; ordered by owner, name.  Array of
     * at_token_rec_t *. */
    apr_status_t (*list)(apr_array_header_t **recs, at_store_t *s,
                         const char *owner, apr_pool_t *p);
    apr_status_t (*audit_add)(at_store_t *s, const at_audit_rec_t *ev);
    /* token_id NULL = any token, owner NULL = any owner (else only the
     * events whose owner column is exactly owner); oldest first.  Array of
     * at_audit_rec_t *; empty, not APR_NOTFOUND, when nothing matches. */
    apr_status_t (*audit_list)(apr_array_header_t **evs, at_store_t *s,
                               const char *token_id, const char *owner,
                               apr_pool_t *p);
    /* Last-used time and address, outside any explicit transaction. */
    apr_status_t (*touch)(at_store_t *s, const char *id, at_time_t when,
                          const char *addr);
    /* Advance the change marker that caches poll (inside the caller's
     * transaction). */
    apr_status_t (*bump_change)(at_store_t *s);
    /* Record that token id exercised scope (a valid scope string) at when,
     * outside any explicit transaction: an update, else an insert; a
     * concurrent writer winning the insert is not an error.  APR_NOTFOUND
     * when the token does not exist (no row is written). */
    apr_status_t (*scope_touch)(at_store_t *s, const char *id,
                                const char *scope, at_time_t when);
    /* token_id NULL = every token; ordered by token id, scope (bytes).
     * Array of at_scope_usage_t *.  Deleting a token deletes its rows. */
    apr_status_t (*scope_usage_list)(apr_array_header_t **rows,
                                     at_store_t *s, const char *token_id,
                                     apr_pool_t *p);
    /* What httpd last recorded of ApiTokenTrackUsage, outside any explicit
     * transaction: *since > 0 on since then, < 0 off since -*since, 0
     * nothing recorded (an httpd older than this, or one that cannot
     * write).  set keeps the time when the state is already the same. */
    apr_status_t (*get_tracking)(at_store_t *s, at_time_t *since);
    apr_status_t (*set_tracking)(at_store_t *s, int on, at_time_t now);
} at_store_ops_t;

struct at_store_t {
    const at_store_ops_t *ops;
    const at_dburl_t *url;
    apr_pool_t *pool;            /* lives until close */
    const char *error;           /* last error text, from pool */
    void *impl;
};

/* Thin dispatchers, so callers read at_store_lookup(s, ...). */
#define at_store_close(s)            ((s)->ops->close(s))
#define at_store_ping(s)             ((s)->ops->ping(s))
#define at_store_init_schema(s, pf)  ((s)->ops->init_schema((s), (pf)))
#define at_store_get_meta(s, pf, v, c, p) ((s)->ops->get_meta((s), (pf), (v), (c), (p)))
#define at_store_begin(s, w)         ((s)->ops->begin((s), (w)))
#define at_store_commit(s)           ((s)->ops->commit(s))
#define at_store_rollback(s)         ((s)->ops->rollback(s))
#define at_store_lookup(r, s, id, p) ((s)->ops->lookup((r), (s), (id), (p)))
#define at_store_find_by_name(r, s, o, n, p) ((s)->ops->find_by_name((r), (s), (o), (n), (p)))
#define at_store_insert(s, r)        ((s)->ops->insert((s), (r)))
#define at_store_update(s, r)        ((s)->ops->update((s), (r)))
#define at_store_remove(s, id)       ((s)->ops->remove((s), (id)))
#define at_store_list(a, s, o, p)    ((s)->ops->list((a), (s), (o), (p)))
#define at_store_audit_add(s, e)     ((s)->ops->audit_add((s), (e)))
#define at_store_audit_list(a, s, id, o, p) ((s)->ops->audit_list((a), (s), (id), (o), (p)))
#define at_store_touch(s, id, t, a)  ((s)->ops->touch((s), (id), (t), (a)))
#define at_store_bump_change(s)      ((s)->ops->bump_change(s))
#define at_store_scope_touch(s, id, sc, t) ((s)->ops->scope_touch((s), (id), (sc), (t)))
#define at_store_scope_usage_list(a, s, id, p) ((s)->ops->scope_usage_list((a), (s), (id), (p)))
#define at_store_get_tracking(s, t)  ((s)->ops->get_tracking((s), (t)))
#define at_store_set_tracking(s, on, now) ((s)->ops->set_tracking((s), (on), (now)))

const char *at_store_error(const at_store_t *s);

/* "active", "expired" or "revoked" at time now. */
const char *at_token_rec_status(const at_token_rec_t *r, at_time_t now);

/* A token row: its columns in the order every reader of the store selects
 * them, and the one decoder of such a row, whatever reads its columns
 * (libdbi by index, the packed SQLite form, the prepared SQLite lookup). */
#define AT_TOKEN_COLUMNS "id, owner, name, digest, scopes, full_access, " \
    "created_at, expires_at, revoked_at, last_used_at, prev_until, " \
    "last_used_addr, allowed_nets, prev_digest, resources, description"
#define AT_TOKEN_NCOLUMNS 16

typedef struct at_token_row_reader_t {
    /* Column i (from 0) as text in p, "" for NULL; NULL when the value
     * cannot be a stored one (the row is then malformed). */
    const char *(*text)(void *row, int i, apr_pool_t *p);
    /* Column i as an integer, 0 for NULL. */
    apr_int64_t (*number)(void *row, int i);
    void *row;
} at_token_row_reader_t;

/* The record of one row; NULL when a column is malformed. */
at_token_rec_t *at_token_rec_decode(const at_token_row_reader_t *rd,
                                    apr_pool_t *p);


/* allowed networks: space/comma separated IPv4/IPv6 addresses or CIDRs,
 * without host bits set (10.1.2.3/8 is refused, naming 10.0.0.0/8);
 * *norm receives the space-separated form. */
const char *at_check_nets(const char **norm, const char *s, apr_pool_t *p);

/* What the store accepts in a row it writes back: the rule above as it
 * was before the host-bit rule, so that tokens written by an earlier
 * version can still be revoked, rotated and changed (at_text.h has the
 * same for owners). */
const char *at_check_stored_nets(const char *s, apr_pool_t *p);

#endif
