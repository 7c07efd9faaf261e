/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Audit events and usage rows (last use, scope use). */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "at_store_dbi.h"
#include "at_token.h"
#include "at_scope.h"
#include "at_log.h"

#include "at_store_dbi_int.h"

#define DETAIL_MAX AT_DESCRIPTION_MAX

static int action_valid(const char *a)
{
    apr_size_t i;

    if (a == NULL || *a == '\0') {
        return 0;
    }
    for (i = 0; a[i]; i++) {
        if (!(apr_islower(a[i]) || apr_isdigit(a[i]) || a[i] == '_'
              || a[i] == '-')) {
            return 0;
        }
    }
    return i <= 32;
}

apr_status_t at_dbi_audit_add(at_store_t *s, const at_audit_rec_t *ev)
{
    apr_pool_t *tmp;
    const char *why;
    const char *tid = ev->token_id ? ev->token_id : "";
    const char *owner = ev->owner ? ev->owner : "";
    const char *actor = ev->actor ? ev->actor : "";
    char *detail;
    apr_size_t len;
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;

    if (!action_valid(ev->action)) {
        return fail(s, APR_EINVAL, "invalid audit action");
    }
    if (*tid && !at_id_valid(tid)) {
        return fail(s, APR_EINVAL, "invalid token id");
    }
    if (*actor && (why = at_check_actor(actor)) != NULL) {
        return fail(s, APR_EINVAL, "audit actor %s", why);
    }
    if (*owner && (why = at_check_stored_owner(owner)) != NULL) {
        return fail(s, APR_EINVAL, "audit owner %s", why);
    }
    apr_pool_create(&tmp, s->pool);
    /* An over-long detail is cut at a character boundary, not refused:
     * the change it records must not fail for it. */
    detail = apr_pstrdup(tmp, ev->detail ? ev->detail : "");
    len = strlen(detail);
    if (len > DETAIL_MAX) {
        len = DETAIL_MAX;
        while (len > 0 && ((unsigned char)detail[len] & 0xc0) == 0x80) {
            len--;
        }
        detail[len] = '\0';
    }
    if ((why = at_check_description(detail)) != NULL) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EINVAL, "audit detail %s", why);
    }
    r = at_sql(s, "INSERT INTO apitoken_audit (at, action, token_id, owner,"
               " actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
               AT_SQL_ARGS(AT_SQL_N(ev->at), AT_SQL_T(ev->action),
                           AT_SQL_T(tid), AT_SQL_T(owner), AT_SQL_T(actor),
                           AT_SQL_T(detail)));
    rv = exec_free(s, r, "recording an audit event");
    apr_pool_destroy(tmp);
    return rv;
}

#define AUDIT_COLS "seq, at, action, token_id, owner, actor, detail"

apr_status_t at_dbi_audit_list(apr_array_header_t **evs, at_store_t *s,
                               const char *token_id, const char *owner,
                               apr_pool_t *p)
{
    dbi_result r;
    apr_size_t n = 0;

    *evs = apr_array_make(p, 16, sizeof(at_audit_rec_t *));
    /* Values that could not have been stored match nothing. */
    if ((token_id && !at_id_valid(token_id))
        || (owner && at_check_stored_owner(owner))) {
        return APR_SUCCESS;
    }
    if (token_id && owner) {
        r = at_sql(s, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                   " WHERE token_id = ? AND owner = ? ORDER BY seq",
                   AT_SQL_ARGS(AT_SQL_T(token_id), AT_SQL_T(owner)));
    }
    else if (token_id) {
        r = at_sql(s, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                   " WHERE token_id = ? ORDER BY seq",
                   AT_SQL_ARGS(AT_SQL_T(token_id)));
    }
    else if (owner) {
        r = at_sql(s, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                   " WHERE owner = ? ORDER BY seq",
                   AT_SQL_ARGS(AT_SQL_T(owner)));
    }
    else {
        r = at_sql(s, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                   " ORDER BY seq", AT_SQL_NONE);
    }
    if (r == NULL) {
        return db_fail(s, "reading the audit log");
    }
    while (dbi_result_next_row(r) && n++ < dbi_result_get_numrows(r)) {
        at_audit_rec_t *ev = apr_pcalloc(p, sizeof(*ev));
        ev->seq = get_ll(r, "seq");
        ev->at = get_ll(r, "at");
        ev->action = get_str(r, "action", p);
        ev->token_id = get_str(r, "token_id", p);
        ev->owner = get_str(r, "owner", p);
        ev->actor = get_str(r, "actor", p);
        ev->detail = get_str(r, "detail", p);
        APR_ARRAY_PUSH(*evs, at_audit_rec_t *) = ev;
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

apr_status_t at_dbi_touch(at_store_t *s, const char *id, at_time_t when,
                          const char *addr)
{
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    if (addr == NULL) {
        addr = "";
    }
    if (!at_dbi_addr_valid(addr)) {
        return fail(s, APR_EINVAL, "invalid client address");
    }
    if ((r = at_sql(s, "UPDATE apitoken_tokens SET last_used_at = ?,"
                    " last_used_addr = ? WHERE id = ?",
                    AT_SQL_ARGS(AT_SQL_N(when), AT_SQL_T(addr),
                                AT_SQL_T(id)))) == NULL) {
        rv = db_fail(s, "recording the last use");
    }
    else {
        if (dbi_result_get_numrows_affected(r) == 0) {
            rv = fail(s, APR_NOTFOUND, "no such token");
        }
        dbi_result_free(r);
    }
    return rv;
}

/* UPDATE, else INSERT ... SELECT from the token row (so nothing is written
 * for a token deleted meanwhile); a duplicate key from a concurrent insert
 * is answered by the UPDATE once more.  MySQL counts only changed rows as
 * affected, so "0 rows" may also mean "same second": the insert then finds
 * the row and adds nothing. */
apr_status_t at_dbi_scope_touch(at_store_t *s, const char *id,
                                const char *scope, at_time_t when)
{
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;
    int attempt, ex;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    if (scope == NULL || !at_scope_valid(scope)) {
        return fail(s, APR_EINVAL, "invalid scope");
    }
    for (attempt = 0; attempt < 2; ++attempt) {
        r = at_sql(s, "UPDATE apitoken_scope_usage SET last_used_at = ?"
                   " WHERE token_id = ? AND scope = ? AND last_used_at < ?",
                   AT_SQL_ARGS(AT_SQL_N(when), AT_SQL_T(id), AT_SQL_T(scope),
                               AT_SQL_N(when)));
        if (r == NULL) {
            rv = db_fail(s, "recording a scope's use");
            break;
        }
        if (dbi_result_get_numrows_affected(r) > 0) {
            dbi_result_free(r);
            break;
        }
        dbi_result_free(r);
        if (attempt > 0) {
            break;   /* a concurrent writer recorded a newer time */
        }
        r = at_sql(s, "INSERT INTO apitoken_scope_usage"
                   " (token_id, scope, last_used_at)"
                   " SELECT id, ?, ? FROM apitoken_tokens"
                   " WHERE id = ? AND NOT EXISTS"
                   " (SELECT 1 FROM apitoken_scope_usage"
                   " WHERE token_id = ? AND scope = ?)",
                   AT_SQL_ARGS(AT_SQL_T(scope), AT_SQL_N(when), AT_SQL_T(id),
                               AT_SQL_T(id), AT_SQL_T(scope)));
        if (r == NULL) {
            continue;    /* lost the insert race: update again */
        }
        if (dbi_result_get_numrows_affected(r) == 0) {
            ex = at_dbi_id_exists(s, id);
            if (ex < 0) {
                rv = db_fail(s, "recording a scope's use");
            }
            else if (ex == 0) {
                rv = fail(s, APR_NOTFOUND, "no such token");
            }
        }
        dbi_result_free(r);
        break;
    }
    return rv;
}

apr_status_t at_dbi_scope_usage_list(apr_array_header_t **rows,
                                     at_store_t *s, const char *token_id,
                                     apr_pool_t *p)
{
    dbi_impl_t *d = IMPL(s);
    const char *order = d->kind == AT_DB_PGSQL
        ? " ORDER BY token_id COLLATE \"C\", scope COLLATE \"C\""
        : " ORDER BY token_id, scope";
    dbi_result r;
    apr_size_t n = 0;

    *rows = apr_array_make(p, 8, sizeof(at_scope_usage_t *));
    if (token_id != NULL) {
        if (!at_id_valid(token_id)) {
            return APR_SUCCESS;
        }
        r = at_sql(s, "SELECT token_id, scope, last_used_at"
                   " FROM apitoken_scope_usage WHERE token_id = ??",
                   AT_SQL_ARGS(AT_SQL_T(token_id), AT_SQL_K(order)));
    }
    else {
        r = at_sql(s, "SELECT token_id, scope, last_used_at"
                   " FROM apitoken_scope_usage WHERE token_id <> ''?",
                   AT_SQL_ARGS(AT_SQL_K(order)));
    }
    if (r == NULL) {
        return db_fail(s, "reading scope usage");
    }
    while (dbi_result_next_row(r) && n++ < dbi_result_get_numrows(r)) {
        at_scope_usage_t *u = apr_pcalloc(p, sizeof(*u));
        u->token_id = get_str(r, "token_id", p);
        u->scope = get_str(r, "scope", p);
        u->last_used_at = get_ll(r, "last_used_at");
        APR_ARRAY_PUSH(*rows, at_scope_usage_t *) = u;
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* The tracking state is a row of apitoken_scope_usage under the empty
 * token id, which no token can have (ids are 12 base62 characters), so
 * no schema change is needed; its time is signed: > 0 on, < 0 off. */
#define TRACKING_ROW " FROM apitoken_scope_usage" \
                     " WHERE token_id = '' AND scope = 'usage_tracking'"

apr_status_t at_dbi_get_tracking(at_store_t *s, at_time_t *since)
{
    dbi_result r;

    *since = 0;
    r = at_sql(s, "SELECT last_used_at" TRACKING_ROW, AT_SQL_NONE);
    if (r == NULL) {
        return db_fail(s, "reading the usage tracking state");
    }
    if (dbi_result_next_row(r)) {
        *since = get_ll(r, "last_used_at");
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

apr_status_t at_dbi_set_tracking(at_store_t *s, int on, at_time_t now)
{
    apr_int64_t v = on ? (apr_int64_t)now : -(apr_int64_t)now;
    apr_status_t rv;

    if (now <= 0) {
        return fail(s, APR_EINVAL, "invalid time");
    }
    /* Only a change of state moves the time ("on since"). */
    rv = exec_free(s, at_sql(s, "UPDATE apitoken_scope_usage"
                             " SET last_used_at = ?"
                             " WHERE token_id = '' AND scope ="
                             " 'usage_tracking' AND last_used_at ? 0",
                             AT_SQL_ARGS(AT_SQL_N(v),
                                         AT_SQL_K(on ? "<=" : ">="))),
                   "recording the usage tracking state");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* The first record; a concurrent writer winning it is no error. */
    dbi_result_free(at_sql(s, "INSERT INTO apitoken_scope_usage"
                           " (token_id, scope, last_used_at)"
                           " SELECT '', 'usage_tracking', ?"
                           " FROM apitoken_meta WHERE NOT EXISTS"
                           " (SELECT 1" TRACKING_ROW ")",
                           AT_SQL_ARGS(AT_SQL_N(v))));
    return APR_SUCCESS;
}
