/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_OPS_INT_H
#define AT_OPS_INT_H

/* What the files of the token operations share (at_ops.c: the unit of
 * work, loading and listing; at_ops_bound.c: the caller's bound;
 * at_ops_create.c: create, revoke, rotate, delete; at_ops_edit.c: rename,
 * scope, expire and edit).  Not for use outside at_ops. */

#include <stdarg.h>

#include <apr_strings.h>

#include "at_ops.h"

static APR_INLINE apr_status_t fail(at_ops_t *o, apr_status_t rv,
                                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static APR_INLINE apr_status_t fail(at_ops_t *o, apr_status_t rv,
                                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    o->error = apr_pvsprintf(o->pool, fmt, ap);
    va_end(ap);
    return rv;
}

#define Q(s) at_ops_quote((s), o->pool)

/* A store failure as the tool has always worded it; rolls back. */
apr_status_t at_ops_store_fail(at_ops_t *o, apr_status_t rv,
                               const char *what, const char *id);

/* The unit of work every mutation uses: at_ops_begin; the change; one
 * at_ops_audit_event per token touched; at_ops_finish (last event, change
 * marker, commit) or at_ops_commit; at_ops_abort_tx rolls back and passes
 * rv on.  On failure each rolls back and sets o->error. */
apr_status_t at_ops_abort_tx(at_ops_t *o, apr_status_t rv);

apr_status_t at_ops_begin(at_ops_t *o);

/* One audit event inside the open transaction; rolls back on failure.
 * owner: the token's owner, whose account sees the event. */
apr_status_t at_ops_audit_event(at_ops_t *o, const char *action,
                                const char *token_id, const char *owner,
                                const char *detail);

/* Change marker and commit, after the change's audit events. */
apr_status_t at_ops_commit(at_ops_t *o, const char *token_id);

/* Audit event, change marker, commit. */
apr_status_t at_ops_finish(at_ops_t *o, const char *action,
                           const char *token_id, const char *owner,
                           const char *detail);

apr_status_t at_ops_check_id(at_ops_t *o, const char *what, const char *id);

/* begin + load, for the operations on one existing token. */
apr_status_t at_ops_open_token(at_ops_t *o, at_token_rec_t **rec,
                               const char *what, const char *id);

const char *at_ops_time_text(at_ops_t *o, at_time_t t, const char *dflt);

/* APR_EACCES (transaction rolled back) when rec reaches beyond what a
 * token caller holds (o->bound, which must be set); see at_ops_bound_t.
 * Runs on the record as it is about to be written, and on the record as
 * it was before a change; subject names the token in the message. */
apr_status_t at_ops_check_bound(at_ops_t *o, const at_token_rec_t *rec,
                                const char *what, const char *subject);

/* Normalised resource patterns of raw text, or APR_EINVAL naming the bad
 * one. */
apr_status_t at_ops_resources_of(at_ops_t *o, const char **norm,
                                 const char *set, const char *add,
                                 const char *del, const char *what);

/* An existing token, named by its id in the message. */
apr_status_t at_ops_within_bound(at_ops_t *o, const at_token_rec_t *rec,
                                 const char *what);

/* Normalised set of raw words (NULL = empty). */
apr_status_t at_ops_scopes_of(at_ops_t *o, apr_array_header_t **out,
                              const apr_array_header_t *raw,
                              const char *what);

/* A name another writer took after our snapshot (MariaDB's repeatable read
 * hides it) makes the write fail as a database error: ask again outside
 * the transaction before calling it one.  The transaction is rolled
 * back. */
apr_status_t at_ops_name_race(at_ops_t *o, const char *what,
                              const char *owner, const char *name,
                              const char *self_id);

#endif
