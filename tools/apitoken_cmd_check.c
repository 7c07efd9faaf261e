/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The commands that check and report: verify, log, revoke-leaked and
 * audit. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "at_ops.h"
#include "at_scope.h"
#include "at_time.h"
#include "at_token.h"
#include "at_usage.h"
#include "at_verify.h"
#include "apitoken.h"

#include "apitoken_cmd_int.h"

/* Read the token for `verify -` from stdin, so it stays off the command
 * line: one line, bounded.  Returns 1 when the line does not fit. */
static int read_stdin_token(char *buf, apr_size_t size, apr_size_t *len)
{
    apr_size_t n = 0, total = 0;
    int ch;

    while (total < 65536 && (ch = getc(stdin)) != EOF && ch != '\n') {
        if (n + 1 < size) {
            buf[n++] = (char)ch;
        }
        total++;
    }
    if (n > 0 && buf[n - 1] == '\r') {
        n--;
        total--;
    }
    buf[n] = '\0';
    *len = n;
    return total > n;
}

int at_cmd_verify(at_cli_t *c)
{
    char buf[AT_TOKEN_MAX + 2];
    const char *arg = ARG(c, 0), *err, *reason, *idstr = NULL;
    apr_array_header_t *need, *granted = NULL;
    at_token_rec_t *rec = NULL;
    at_token_status_t st;
    at_token_t tok;
    apr_size_t len;
    apr_status_t rv;
    int i, code, too_long, allowed, depends, known = 0;

    if ((code = at_cmd_parse_scopes(c, &need, c->scopes, "scope"))
        != AT_EXIT_OK) {
        return code;
    }
    if (c->from) {
        const char *norm;

        if (strchr(c->from, '/')
            || (err = at_check_nets(&norm, c->from, c->pool)) != NULL
            || strchr(norm, ' ')) {
            return at_cli_fail(c, AT_EXIT_USAGE, "verify: invalid --from %s "
                               "(one IPv4 or IPv6 address)",
                               at_ops_quote(c->from, c->pool));
        }
    }
    if (c->user && (err = at_check_owner(c->user)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "verify: invalid --user %s: %s",
                           at_ops_quote(c->user, c->pool), err);
    }
    if (!strcmp(arg, "-")) {
        too_long = read_stdin_token(buf, sizeof(buf), &len);
    }
    else {
        len = strlen(arg);
        too_long = len >= sizeof(buf);
        if (too_long) {
            len = sizeof(buf) - 1;
        }
        memcpy(buf, arg, len);
        buf[len] = '\0';
        /* Keep the secret out of later `ps` output. */
        OPENSSL_cleanse((char *)arg, strlen(arg));
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return code;
    }
    memset(&tok, 0, sizeof(tok));
    st = too_long ? AT_TOKEN_TOO_LONG
                  : at_token_parse(&tok, buf, len, c->schema_prefix);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (st != AT_TOKEN_OK) {
        reason = at_reason_str(at_reason_from_parse(st));
    }
    else if ((rv = at_store_lookup(&rec, c->store, tok.id, c->pool))
             == APR_NOTFOUND) {
        reason = at_reason_str(AT_REASON_UNKNOWN_ID);
        rec = NULL;
    }
    else if (rv != APR_SUCCESS) {
        at_token_wipe(&tok);
        return at_cli_store_fail(c, rv, "verify", tok.id);
    }
    else {
        at_reason_t r = at_verify_record(rec, &tok, c->now, c->from, c->user,
                                         c->pool);

        known = r != AT_REASON_WRONG_SECRET;
        reason = at_reason_str(r);
        if (r == AT_REASON_OK) {
            const char *bad;

            if (at_scopes_parse(&granted, rec->scopes, &bad, c->pool)
                != APR_SUCCESS) {
                granted = apr_array_make(c->pool, 1, sizeof(const char *));
            }
            for (i = 0; i < need->nelts; i++) {
                if (!at_scopes_satisfy(granted, rec->full_access,
                                       APR_ARRAY_IDX(need, i,
                                                     const char *))) {
                    reason = "insufficient_scope";
                    break;
                }
            }
        }
    }
    if (st == AT_TOKEN_OK) {
        idstr = apr_pstrdup(c->pool, tok.id);
    }
    at_token_wipe(&tok);
    allowed = !strcmp(reason, "ok");
    depends = known && rec && !c->from && rec->allowed_nets
              && *rec->allowed_nets;

    if (c->json) {
        fprintf(c->out, "{\"allowed\": %s, \"reason\": ",
                allowed ? "true" : "false");
        at_json_str(c->out, reason);
        fputs(", \"id\": ", c->out);
        if (idstr) {
            at_json_str(c->out, idstr);
        }
        else {
            fputs("null", c->out);
        }
        if (known && rec) {
            fputs(", \"owner\": ", c->out);
            at_json_str(c->out, rec->owner);
            fputs(", \"name\": ", c->out);
            at_json_str(c->out, rec->name);
            fputs(", \"scopes\": ", c->out);
            at_json_words(c->out, rec->scopes);
            fprintf(c->out, ", \"full_access\": %s",
                    rec->full_access ? "true" : "false");
            fputs(", \"depends_on_address\": ", c->out);
            fputs(depends ? "true" : "false", c->out);
            if (depends) {
                fputs(", \"allowed_networks\": ", c->out);
                at_json_words(c->out, rec->allowed_nets);
            }
        }
        fputs("}\n", c->out);
    }
    else if (allowed) {
        fprintf(c->out, "allowed: token %s, owner %s, name %s\n", rec->id,
                at_text_clean(rec->owner, c->pool),
                at_text_clean(rec->name, c->pool));
    }
    if (allowed && depends) {
        /* Without --from the address rule was not applied. */
        fflush(c->out);
        fprintf(stderr, "apitoken: verify: the answer depends on the client "
                "address: the token is accepted only from %s (give --from "
                "IP to check one)\n",
                at_text_clean(rec->allowed_nets, c->pool));
    }
    if (!allowed) {
        return at_cli_fail(c, AT_EXIT_NOTFOUND, "verify: denied: %s%s%s",
                           reason, idstr ? " (token " : "",
                           idstr ? apr_pstrcat(c->pool, idstr, ")", NULL)
                                 : "");
    }
    return AT_EXIT_OK;
}

int at_cmd_log(at_cli_t *c)
{
    const char *id = c->args->nelts ? ARG(c, 0) : NULL;
    apr_array_header_t *evs;
    at_ops_t o;
    apr_status_t rv;
    const char *err;
    int i, code;

    static const char *const actions[] = {
        "create", "rename", "scope", "expire", "describe", "networks",
        "revoke", "rotate", "delete", "prune", "init", NULL
    };
    at_time_t since = AT_TIME_NONE;
    apr_int64_t ago = 0;
    int known = 0;

    if (id && (code = at_cmd_check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    /* A filter, not a new account: rows of earlier versions count. */
    if (c->owner && (err = at_check_stored_owner(c->owner)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "log: invalid --owner %s: %s",
                           at_ops_quote(c->owner, c->pool), err);
    }
    if (c->since && c->since[0] >= '0' && c->since[0] <= '9'
        && at_duration_parse(&ago, c->since, &err) == APR_SUCCESS) {
        since = c->now - ago;       /* "--since 24h": that long ago */
    }
    else if (c->since
             && (code = at_cmd_parse_time(c, &since, c->since, "--since"))
                    != AT_EXIT_OK) {
        return code;
    }
    else if (c->since && strlen(c->since) == 10) {
        /* A bare date names the whole day (its end, for an expiry): since
         * that day is from its start. */
        since -= 86399;
    }
    if (c->since && since == AT_TIME_NONE) {
        return at_cli_fail(c, AT_EXIT_USAGE, "log: --since needs a date, "
                           "not %s", at_ops_quote(c->since, c->pool));
    }
    for (i = 0; c->action && actions[i]; i++) {
        known |= !strcmp(actions[i], c->action);
    }
    if (c->action && !known) {
        return at_cli_fail(c, AT_EXIT_USAGE, "log: unknown --action %s "
                           "(create, rename, scope, expire, describe, "
                           "networks, revoke, rotate, delete, prune or "
                           "init)", at_ops_quote(c->action, c->pool));
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    o.owner = c->owner;
    if ((rv = at_ops_audit(&evs, &o, id)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    if (c->since || c->action) {
        apr_array_header_t *keep = apr_array_make(c->pool, evs->nelts + 1,
                                                  sizeof(at_audit_rec_t *));

        for (i = 0; i < evs->nelts; i++) {
            at_audit_rec_t *ev = APR_ARRAY_IDX(evs, i, at_audit_rec_t *);

            if ((!c->since || ev->at >= since)
                && (!c->action || !strcmp(ev->action, c->action))) {
                APR_ARRAY_PUSH(keep, at_audit_rec_t *) = ev;
            }
        }
        evs = keep;
    }
    if (c->json) {
        putc('[', c->out);
        for (i = 0; i < evs->nelts; i++) {
            fputs(i ? ",\n " : "", c->out);
            at_json_audit(c->out, APR_ARRAY_IDX(evs, i, at_audit_rec_t *));
        }
        fputs("]\n", c->out);
    }
    else {
        at_text_audit(c->out, evs, c->pool);
    }
    return AT_EXIT_OK;
}

int at_cmd_revoke_leaked(at_cli_t *c)
{
    char buf[AT_TOKEN_MAX + 2];
    const char *arg = ARG(c, 0), *err;
    at_token_rec_t *rec;
    apr_size_t len;
    at_ops_t o;
    apr_status_t rv;
    int code, too_long, already = 0;

    if (c->reason && (err = at_check_description(c->reason)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke-leaked: invalid "
                           "--reason %s: %s",
                           at_ops_quote(c->reason, c->pool), err);
    }
    if (!strcmp(arg, "-")) {
        too_long = read_stdin_token(buf, sizeof(buf), &len);
    }
    else {
        len = strlen(arg);
        too_long = len >= sizeof(buf);
        if (!too_long) {
            memcpy(buf, arg, len + 1);
        }
        /* Keep the secret out of later `ps` output. */
        OPENSSL_cleanse((char *)arg, strlen(arg));
    }
    if (too_long) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return at_cli_fail(c, AT_EXIT_NOTFOUND, "revoke-leaked: not a "
                           "genuine token of this database");
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return code;
    }
    at_cmd_ops_init(c, &o);
    rv = at_ops_revoke_leaked(&rec, &already, &o, buf, c->reason);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rv != APR_SUCCESS) {
        return at_cli_fail(c, at_cmd_ops_code(rv), "revoke-leaked: %s",
                           o.error ? o.error : "unknown error");
    }
    if (c->json) {
        fprintf(c->out, "{\"revoked\": true, \"already_revoked\": %s, "
                "\"token\": ", already ? "true" : "false");
        at_json_token(c->out, rec, c->now, NULL);
        fputs("}\n", c->out);
    }
    else {
        fprintf(c->out, "%s token %s of owner %s, name %s\n",
                already ? "already revoked:" : "revoked", rec->id,
                at_text_clean(rec->owner, c->pool),
                at_text_clean(rec->name, c->pool));
    }
    return AT_EXIT_OK;
}

/* Days for an audit window: a whole number 0..36500; -1 when not given. */
static int audit_days(at_cli_t *c, int *out, const char *s, const char *opt)
{
    char *end = NULL;
    long v;

    if (!s) {
        *out = -1;
        return AT_EXIT_OK;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 36500 || *s == '+'
        || *s == '-' || *s == ' ') {
        return at_cli_fail(c, AT_EXIT_USAGE, "audit: invalid --%s %s (a "
                           "number of days, 0 to 36500)", opt,
                           at_ops_quote(s, c->pool));
    }
    *out = (int)v;
    return AT_EXIT_OK;
}

static const char *words(const apr_array_header_t *a, apr_pool_t *p)
{
    return a && a->nelts ? apr_array_pstrcat(p, a, ' ') : "";
}

static void json_words_arr(FILE *f, const apr_array_header_t *a)
{
    int i;

    putc('[', f);
    for (i = 0; a && i < a->nelts; i++) {
        fputs(i ? ", " : "", f);
        at_json_str(f, APR_ARRAY_IDX(a, i, const char *));
    }
    putc(']', f);
}

/* One line of text for a finding: what is wrong and what to do. */
static const char *finding_text(at_cli_t *c, const at_finding_t *f,
                                const at_usage_audit_req_t *req)
{
    const at_token_rec_t *r = f->rec;
    apr_pool_t *p = c->pool;

    if (!strcmp(f->kind, AT_FINDING_UNUSED_SCOPES)) {
        return apr_psprintf(p, "scopes not used in %d days: %s; narrower "
                            "set: %s", req->unused_scopes_days,
                            words(f->unused, p),
                            f->suggest->nelts ? words(f->suggest, p)
                                              : "(none used: revoke it)");
    }
    if (!strcmp(f->kind, AT_FINDING_UNUSED)) {
        return apr_psprintf(p, "not used in %d days (last used %s)",
                            req->unused_days,
                            at_cli_time(r->last_used_at, "never", p));
    }
    if (!strcmp(f->kind, AT_FINDING_EXPIRING)) {
        return apr_psprintf(p, "expires %s",
                            at_cli_time(r->expires_at, "never", p));
    }
    return apr_psprintf(p, "full access; scopes used: %s",
                        f->suggest->nelts ? words(f->suggest, p)
                                          : "(none yet)");
}

int at_cmd_audit(at_cli_t *c)
{
    at_usage_audit_req_t req;
    apr_array_header_t *found;
    const char *err;
    at_ops_t o;
    apr_status_t rv;
    at_time_t since;
    int i, code;

    memset(&req, 0, sizeof(req));
    if ((code = audit_days(c, &req.unused_scopes_days, c->unused_scopes,
                           "unused-scopes")) != AT_EXIT_OK
        || (code = audit_days(c, &req.unused_days, c->unused, "unused"))
           != AT_EXIT_OK
        || (code = audit_days(c, &req.expiring_days, c->expiring,
                              "expiring")) != AT_EXIT_OK) {
        return code;
    }
    req.full_access = c->full_access;
    if (!c->unused_scopes && !c->unused && !c->expiring && !c->full_access) {
        /* No check named: all four, with the documented defaults. */
        req.unused_scopes_days = 30;
        req.unused_days = 90;
        req.expiring_days = 14;
        req.full_access = 1;
    }
    if (c->owner && (err = at_check_stored_owner(c->owner)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "audit: invalid --owner %s: %s",
                           at_ops_quote(c->owner, c->pool), err);
    }
    req.owner = c->owner;
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_usage_audit(&found, &o, &req)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    since = req.unused_days ? at_cmd_tracking(c) : 0;
    /* On stderr, so that --json output stays one document. */
    if (since < 0) {
        fprintf(stderr, "apitoken: audit: warning: httpd does not track "
                "last use (ApiTokenTrackUsage Off, recorded %s): --unused "
                "cannot know which tokens are unused\n",
                at_cli_time(-since, "-", c->pool));
    }
    else if (since > c->now - (at_time_t)req.unused_days * 86400) {
        fprintf(stderr, "apitoken: audit: warning: last use is tracked "
                "only since %s: a token used before then and not since may "
                "be reported as unused\n", at_cli_time(since, "-", c->pool));
    }
    if (c->json) {
        fputs("{\"checks\": {", c->out);
        fprintf(c->out, "\"unused_scopes_days\": %d, \"unused_days\": %d, "
                "\"expiring_days\": %d, \"full_access\": %s}, "
                "\"findings\": [", req.unused_scopes_days, req.unused_days,
                req.expiring_days, req.full_access ? "true" : "false");
        for (i = 0; i < found->nelts; i++) {
            const at_finding_t *f = APR_ARRAY_IDX(found, i, at_finding_t *);

            fputs(i ? ",\n  {\"kind\": " : "\n  {\"kind\": ", c->out);
            at_json_str(c->out, f->kind);
            fputs(", \"id\": ", c->out);
            at_json_str(c->out, f->rec->id);
            fputs(", \"owner\": ", c->out);
            at_json_str(c->out, f->rec->owner);
            fputs(", \"name\": ", c->out);
            at_json_str(c->out, f->rec->name);
            fputs(", \"scopes\": ", c->out);
            at_json_words(c->out, f->rec->scopes);
            fprintf(c->out, ", \"full_access\": %s",
                    f->rec->full_access ? "true" : "false");
            fputs(", \"last_used_at\": ", c->out);
            at_json_time(c->out, f->rec->last_used_at);
            fputs(", \"expires_at\": ", c->out);
            at_json_time(c->out, f->rec->expires_at);
            if (f->unused) {
                fputs(", \"unused_scopes\": ", c->out);
                json_words_arr(c->out, f->unused);
            }
            if (f->suggest) {
                fputs(", \"suggested_scopes\": ", c->out);
                json_words_arr(c->out, f->suggest);
            }
            putc('}', c->out);
        }
        fputs(found->nelts ? "\n]}\n" : "]}\n", c->out);
    }
    else if (!found->nelts) {
        fputs("no findings\n", c->out);
    }
    else {
        for (i = 0; i < found->nelts; i++) {
            const at_finding_t *f = APR_ARRAY_IDX(found, i, at_finding_t *);

            fprintf(c->out, "%-13s %s  %s/%s: %s\n", f->kind, f->rec->id,
                    at_text_clean(f->rec->owner, c->pool),
                    at_text_clean(f->rec->name, c->pool),
                    finding_text(c, f, &req));
        }
    }
    /* Non-zero when anything was found, so cron mails it. */
    return found->nelts ? AT_EXIT_NOTFOUND : AT_EXIT_OK;
}
