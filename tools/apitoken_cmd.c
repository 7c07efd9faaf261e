/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The commands of the admin tool.  Every argument is validated before the
 * database is opened (so a usage error is exit 2 even when the database is
 * down), and every change is one transaction ending in an audit event. */

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

#define ARG(c, i) APR_ARRAY_IDX((c)->args, (i), const char *)
#define CATALOGUE_MAX_LINES 10000

static int check_id(at_cli_t *c, const char *id)
{
    if (!at_id_valid(id)) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s: invalid token id %s "
                           "(%d characters of [0-9A-Za-z])", c->cmd,
                           at_ops_quote(id, c->pool), AT_ID_LEN);
    }
    return AT_EXIT_OK;
}

/* Normalised scope set of the raw option values (repeated flags and
 * comma/space lists). */
static int parse_scopes(at_cli_t *c, apr_array_header_t **out,
                        const apr_array_header_t *raw, const char *opt)
{
    const char *text = apr_array_pstrcat(c->pool, raw, ' ');
    const char *bad = NULL;

    if (at_scopes_parse(out, text, &bad, c->pool) != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s: invalid scope %s in --%s "
                           "(feature[:level], each [a-z0-9_-]{1,64})", c->cmd,
                           at_ops_quote(bad ? bad : text, c->pool), opt);
    }
    return AT_EXIT_OK;
}

/* With a catalogue, every scope's feature must be listed in it. */
static int check_catalogue(at_cli_t *c, const apr_array_header_t *scopes)
{
    apr_hash_t *known;
    FILE *f;
    char line[1024];
    int i, n = 0;

    if (!c->catalogue || scopes->nelts == 0) {
        return AT_EXIT_OK;
    }
    if (!(f = fopen(c->catalogue, "r"))) {
        return at_cli_fail(c, AT_EXIT_USAGE, "cannot read catalogue %s: %s",
                           at_ops_quote(c->catalogue, c->pool),
                           strerror(errno));
    }
    known = apr_hash_make(c->pool);
    while (n++ < CATALOGUE_MAX_LINES && fgets(line, sizeof(line), f)) {
        char *p = line, *w;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p) {
            continue;
        }
        w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            p++;
        }
        *p = '\0';
        apr_hash_set(known, apr_pstrdup(c->pool, w), APR_HASH_KEY_STRING,
                     "");
    }
    fclose(f);
    for (i = 0; i < scopes->nelts; i++) {
        const char *s = APR_ARRAY_IDX(scopes, i, const char *);
        const char *colon = strchr(s, ':');
        const char *feature = colon ? apr_pstrmemdup(c->pool, s, colon - s)
                                    : s;

        if (!apr_hash_get(known, feature, APR_HASH_KEY_STRING)) {
            return at_cli_fail(c, AT_EXIT_USAGE, "%s: unknown feature %s in "
                               "scope %s (not in catalogue %s)", c->cmd,
                               at_ops_quote(feature, c->pool),
                               at_ops_quote(s, c->pool),
                               at_ops_quote(c->catalogue, c->pool));
        }
    }
    return AT_EXIT_OK;
}

static int parse_time(at_cli_t *c, at_time_t *t, const char *s,
                      const char *what)
{
    const char *err = NULL;

    if (at_time_parse(t, s, c->now, &err) != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s: invalid %s %s: %s", c->cmd,
                           what, at_ops_quote(s, c->pool),
                           err ? err : "not a date");
    }
    return AT_EXIT_OK;
}

/* Look up a token (show). */
static int load(at_cli_t *c, at_token_rec_t **rec, const char *id)
{
    apr_status_t rv = at_store_lookup(rec, c->store, id, c->pool);

    if (rv != APR_SUCCESS) {
        return at_cli_store_fail(c, rv, "lookup", id);
    }
    return AT_EXIT_OK;
}

/* Exit code of an at_ops status, as the contract has it. */
static int ops_code(apr_status_t rv)
{
    switch (rv) {
    case APR_EINVAL:
    case APR_ENOENT:
        return AT_EXIT_USAGE;
    case APR_NOTFOUND:
    case APR_EEXIST:
    case APR_EBUSY:
        return AT_EXIT_NOTFOUND;
    default:
        return AT_EXIT_DB;
    }
}

static int ops_fail(at_cli_t *c, at_ops_t *o, apr_status_t rv)
{
    return at_cli_fail(c, ops_code(rv), "%s", o->error ? o->error
                                                       : "unknown error");
}

static void ops_init(at_cli_t *c, at_ops_t *o)
{
    at_ops_init(o, c->store, c->actor, c->now, c->schema_prefix, c->pool);
}

/* What httpd recorded of ApiTokenTrackUsage (see at_store.h); 0 when
 * nothing or when it cannot be read (an older store is no error). */
static at_time_t tracking(at_cli_t *c)
{
    at_time_t since = 0;

    if (at_store_get_tracking(c->store, &since) != APR_SUCCESS) {
        since = 0;
    }
    if (since < 0) {
        at_out_not_tracked();
    }
    return since;
}

static void print_token(at_cli_t *c, const at_token_rec_t *rec,
                        const char *token)
{
    if (c->json) {
        at_json_token(c->out, rec, c->now, token);
        putc('\n', c->out);
        return;
    }
    at_text_token(c->out, rec, c->now, c->pool);
    if (token) {
        fprintf(c->out, "token:          %s\n"
                "The token is shown only this once: store it now.\n", token);
    }
}

/* The printed secret is gone from our memory once it is written out. */
static void wipe_token(at_cli_t *c, char *str)
{
    fflush(c->out);
    OPENSSL_cleanse(c->outbuf, c->outbuf_len);
    OPENSSL_cleanse(str, AT_TOKEN_MAX + 1);
}

int at_cmd_init(at_cli_t *c)
{
    const char *prefix = NULL, *use;
    int version = 0, fresh, code;
    apr_int64_t seq;
    apr_status_t rv;

    if (c->prefix && !at_prefix_valid(c->prefix)) {
        return at_cli_fail(c, AT_EXIT_USAGE, "init: invalid prefix %s "
                           "(1-%d characters of [a-z0-9], starting with a "
                           "letter)", at_ops_quote(c->prefix, c->pool),
                           AT_PREFIX_MAX);
    }
    if ((code = at_cli_open(c, 1, 0)) != AT_EXIT_OK) {
        return code;
    }
    rv = at_store_get_meta(c->store, &prefix, &version, &seq, c->pool);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return at_cli_fail(c, AT_EXIT_DB, "cannot read schema of %s: %s",
                           c->store->url->redacted,
                           at_store_error(c->store));
    }
    fresh = rv == APR_NOTFOUND;
    if (!fresh && c->prefix && prefix && strcmp(prefix, c->prefix)) {
        return at_cli_fail(c, AT_EXIT_NOTFOUND, "init: the schema already "
                           "uses prefix %s; it cannot be changed",
                           at_ops_quote(prefix, c->pool));
    }
    if (!fresh && version > AT_SCHEMA_VERSION) {
        return at_cli_fail(c, AT_EXIT_DB, "schema version %d of %s is newer "
                           "than this tool (%d)", version,
                           c->store->url->redacted, AT_SCHEMA_VERSION);
    }
    use = c->prefix ? c->prefix
                    : (!fresh && prefix && *prefix ? prefix
                                                   : AT_DEFAULT_PREFIX);
    if (at_store_init_schema(c->store, use) != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_DB, "cannot create the schema in %s: "
                           "%s", c->store->url->redacted,
                           at_store_error(c->store));
    }
    if (fresh || version != AT_SCHEMA_VERSION) {
        code = at_cli_begin(c, 1);
        if (code == AT_EXIT_OK) {
            code = at_cli_finish(c, "init", "",
                                 apr_psprintf(c->pool, "schema version %d, "
                                              "prefix %s", AT_SCHEMA_VERSION,
                                              use));
        }
        if (code != AT_EXIT_OK) {
            return code;
        }
    }
    if (c->json) {
        fprintf(c->out, "{\"database\": ");
        at_json_str(c->out, c->store->url->redacted);
        fprintf(c->out, ", \"schema_version\": %d, \"prefix\": ",
                AT_SCHEMA_VERSION);
        at_json_str(c->out, use);
        fprintf(c->out, ", \"created\": %s, \"upgraded\": %s}\n",
                fresh ? "true" : "false",
                !fresh && version != AT_SCHEMA_VERSION ? "true" : "false");
    }
    else {
        fprintf(c->out, "%s schema version %d in %s (token prefix %s)\n",
                fresh ? "Created" : (version != AT_SCHEMA_VERSION
                                     ? "Upgraded" : "Up to date:"),
                AT_SCHEMA_VERSION, c->store->url->redacted, use);
    }
    return AT_EXIT_OK;
}

int at_cmd_create(at_cli_t *c)
{
    at_token_rec_t *rec;
    at_create_req_t req;
    at_ops_t o;
    apr_array_header_t *scopes;
    char tokstr[AT_TOKEN_MAX + 1];
    const char *err, *nets = "";
    at_time_t expires = AT_TIME_NONE;
    apr_status_t rv;
    int code;

    if (!c->owner) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: --owner USER is "
                           "required");
    }
    if (!c->name) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: --name NAME is "
                           "required");
    }
    if ((err = at_check_owner(c->owner)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: invalid owner %s: %s",
                           at_ops_quote(c->owner, c->pool), err);
    }
    if ((err = at_check_name(c->name)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: invalid name %s: %s",
                           at_ops_quote(c->name, c->pool), err);
    }
    if (c->description
        && (err = at_check_description(c->description)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: invalid description "
                           "%s: %s", at_ops_quote(c->description, c->pool),
                           err);
    }
    if ((code = parse_scopes(c, &scopes, c->scopes, "scope")) != AT_EXIT_OK
        || (code = check_catalogue(c, scopes)) != AT_EXIT_OK) {
        return code;
    }
    if (c->restricted) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: --restricted is "
                           "implied by --scope; it is not an option here");
    }
    if (c->full_access && scopes->nelts > 0) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: give --scope or "
                           "--full-access, not both");
    }
    if (!c->full_access && scopes->nelts == 0) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: a restricted token "
                           "needs at least one --scope (or give "
                           "--full-access)");
    }
    if (c->expires) {
        if ((code = parse_time(c, &expires, c->expires, "expiry"))
            != AT_EXIT_OK) {
            return code;
        }
        if (expires != AT_TIME_NONE && expires <= c->now) {
            return at_cli_fail(c, AT_EXIT_USAGE, "create: expiry %s is in "
                               "the past", at_ops_quote(c->expires, c->pool));
        }
    }
    if (c->nets->nelts > 0) {
        const char *raw = apr_array_pstrcat(c->pool, c->nets, ' ');

        if ((err = at_check_nets(&nets, raw, c->pool)) != NULL) {
            return at_cli_fail(c, AT_EXIT_USAGE, "create: invalid --allow-ip "
                               "%s: %s", at_ops_quote(raw, c->pool), err);
        }
    }

    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    memset(&req, 0, sizeof(req));
    req.owner = c->owner;
    req.name = c->name;
    req.description = c->description;
    req.scopes = scopes;
    req.full_access = c->full_access;
    req.expires = expires;
    req.nets = c->nets->nelts > 0 ? nets : NULL;
    if ((rv = at_ops_create(&rec, tokstr, &o, &req)) != APR_SUCCESS) {
        wipe_token(c, tokstr);
        return ops_fail(c, &o, rv);
    }
    print_token(c, rec, tokstr);
    wipe_token(c, tokstr);
    return AT_EXIT_OK;
}

int at_cmd_list(at_cli_t *c)
{
    apr_array_header_t *all, *recs;
    const char *err = NULL;
    apr_int64_t within = 7 * 86400;
    apr_status_t rv;
    int i, code, expiring;

    if (c->owner && (err = at_check_stored_owner(c->owner)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "list: invalid owner %s: %s",
                           at_ops_quote(c->owner, c->pool), err);
    }
    if (c->status && strcmp(c->status, "active")
        && strcmp(c->status, "expired") && strcmp(c->status, "revoked")
        && strcmp(c->status, "expiring") && strcmp(c->status, "all")) {
        return at_cli_fail(c, AT_EXIT_USAGE, "list: invalid status %s "
                           "(active, expiring, expired, revoked or all)",
                           at_ops_quote(c->status, c->pool));
    }
    expiring = c->status && !strcmp(c->status, "expiring");
    if (c->within && !expiring) {
        return at_cli_fail(c, AT_EXIT_USAGE, "list: --within goes with "
                           "--status expiring");
    }
    if (c->within && (at_duration_parse(&within, c->within, &err)
                      != APR_SUCCESS || within == 0)) {
        return at_cli_fail(c, AT_EXIT_USAGE, "list: invalid --within %s: %s",
                           at_ops_quote(c->within, c->pool),
                           within == 0 && !err ? "must be longer than 0"
                                               : err);
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    if ((rv = at_store_list(&all, c->store, c->owner, c->pool))
        != APR_SUCCESS) {
        return at_cli_store_fail(c, rv, "list", NULL);
    }
    recs = apr_array_make(c->pool, all->nelts + 1, sizeof(at_token_rec_t *));
    for (i = 0; i < all->nelts; i++) {
        at_token_rec_t *r = APR_ARRAY_IDX(all, i, at_token_rec_t *);

        const char *st = at_token_rec_status(r, c->now);

        if (expiring) {
            /* Active now, and no longer active within the window. */
            if (!strcmp(st, "active") && r->expires_at != AT_TIME_NONE
                && r->expires_at - c->now <= within) {
                APR_ARRAY_PUSH(recs, at_token_rec_t *) = r;
            }
        }
        else if (!c->status || !strcmp(c->status, "all")
                 || !strcmp(c->status, st)) {
            APR_ARRAY_PUSH(recs, at_token_rec_t *) = r;
        }
    }
    if (c->json) {
        at_json_tokens(c->out, recs, c->now);
    }
    else {
        tracking(c);
        at_text_list(c->out, recs, c->now, c->pool);
    }
    return AT_EXIT_OK;
}

/* Granted versus used, one line per scope. */
static void print_scope_usage(at_cli_t *c, const at_token_rec_t *rec,
                              const apr_array_header_t *uses)
{
    int i;

    fputs("scope usage:", c->out);
    if (!uses->nelts) {
        fputs(rec->full_access ? "    full access, no scope used yet\n"
                               : "    no scopes\n", c->out);
        return;
    }
    putc('\n', c->out);
    for (i = 0; i < uses->nelts; i++) {
        const at_scope_use_t *u = APR_ARRAY_IDX(uses, i, at_scope_use_t *);

        fprintf(c->out, "  %-20s %s%s\n", u->scope,
                at_cli_time(u->last_used_at, at_out_never_used(), c->pool),
                u->granted ? "" : "  (no longer granted)");
    }
}

int at_cmd_show(at_cli_t *c)
{
    apr_array_header_t *uses;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int i, code;

    if ((code = check_id(c, ARG(c, 0))) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK
        || (code = load(c, &rec, ARG(c, 0))) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_usage_scopes(&uses, &o, rec)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    if (!c->json) {
        tracking(c);
        print_token(c, rec, NULL);
        print_scope_usage(c, rec, uses);
        return AT_EXIT_OK;
    }
    at_json_token_open(c->out, rec, c->now, NULL);
    fputs(", \"scope_usage\": [", c->out);
    for (i = 0; i < uses->nelts; i++) {
        const at_scope_use_t *u = APR_ARRAY_IDX(uses, i, at_scope_use_t *);

        fputs(i ? ", {\"scope\": " : "{\"scope\": ", c->out);
        at_json_str(c->out, u->scope);
        fprintf(c->out, ", \"granted\": %s, \"last_used_at\": ",
                u->granted ? "true" : "false");
        at_json_time(c->out, u->last_used_at);
        putc('}', c->out);
    }
    fputs("]}\n", c->out);
    return AT_EXIT_OK;
}

/* A change to what the token already holds: said, exit 0, no event. */
static void note_unchanged(at_cli_t *c, const at_ops_t *o, const char *id)
{
    if (o->unchanged) {
        fflush(c->out);
        fprintf(stderr, "apitoken: %s: nothing changed (token %s already "
                "has these values; no audit event)\n", c->cmd, id);
    }
}

int at_cmd_rename(at_cli_t *c)
{
    const char *id = ARG(c, 0), *name = ARG(c, 1), *err;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if ((err = at_check_name(name)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "rename: invalid name %s: %s",
                           at_ops_quote(name, c->pool), err);
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_rename(&rec, &o, id, name)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

int at_cmd_edit(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    at_token_edit_t e;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if (c->nets->nelts > 0 && c->any_address) {
        return at_cli_fail(c, AT_EXIT_USAGE, "edit: give --allow-ip or "
                           "--any-address, not both");
    }
    memset(&e, 0, sizeof(e));
    e.name = c->name;
    e.description = c->description;
    if (c->nets->nelts > 0) {
        e.nets = apr_array_pstrcat(c->pool, c->nets, ' ');
    }
    else if (c->any_address) {
        e.nets = "";
    }
    if (!e.name && !e.description && !e.nets) {
        return at_cli_fail(c, AT_EXIT_USAGE, "edit: nothing to change (give "
                           "--name, --description, --allow-ip or "
                           "--any-address)");
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_edit(&rec, &o, id, &e)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

int at_cmd_scope(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    apr_array_header_t *add, *rm;
    at_scope_change_t ch;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if (c->full_access && c->restricted) {
        return at_cli_fail(c, AT_EXIT_USAGE, "scope: give --full-access or "
                           "--restricted, not both");
    }
    if (!c->add->nelts && !c->remove->nelts && !c->full_access
        && !c->restricted) {
        return at_cli_fail(c, AT_EXIT_USAGE, "scope: nothing to change (give "
                           "--add, --remove, --full-access or --restricted)");
    }
    if ((code = parse_scopes(c, &add, c->add, "add")) != AT_EXIT_OK
        || (code = parse_scopes(c, &rm, c->remove, "remove")) != AT_EXIT_OK
        || (code = check_catalogue(c, add)) != AT_EXIT_OK) {
        return code;
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    memset(&ch, 0, sizeof(ch));
    ch.add = add;
    ch.remove = rm;
    ch.full = c->full_access ? 1 : (c->restricted ? 0 : -1);
    if ((rv = at_ops_scope(&rec, &o, id, &ch)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

int at_cmd_expire(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    at_token_rec_t *rec;
    at_ops_t o;
    at_time_t t;
    apr_status_t rv;
    int code;

    if ((code = check_id(c, id)) != AT_EXIT_OK
        || (code = parse_time(c, &t, ARG(c, 1), "date")) != AT_EXIT_OK) {
        return code;
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_expire(&rec, &o, id, t)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

/* revoke --owner USER --all: a compromised account. */
static int revoke_all(at_cli_t *c)
{
    apr_array_header_t *recs;
    at_ops_t o;
    apr_status_t rv;
    const char *err;
    int code;

    if (!c->owner) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: --all needs --owner "
                           "USER");
    }
    if (c->args->nelts) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: give an ID or --owner "
                           "USER --all, not both");
    }
    if ((err = at_check_stored_owner(c->owner)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: invalid --owner %s: %s",
                           at_ops_quote(c->owner, c->pool), err);
    }
    if (c->reason && (err = at_check_description(c->reason)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: invalid --reason %s: "
                           "%s", at_ops_quote(c->reason, c->pool), err);
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_revoke_owner(&recs, &o, c->owner, c->reason))
        != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    if (c->json) {
        at_json_tokens(c->out, recs, c->now);
    }
    else {
        fprintf(c->out, "revoked %d token%s of %s\n", recs->nelts,
                recs->nelts == 1 ? "" : "s",
                at_text_clean(c->owner, c->pool));
        if (recs->nelts) {
            at_text_list(c->out, recs, c->now, c->pool);
        }
    }
    return AT_EXIT_OK;
}

int at_cmd_revoke(at_cli_t *c)
{
    const char *id, *err;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if (c->all) {
        return revoke_all(c);
    }
    if (c->owner) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: --owner goes with "
                           "--all (revoke --owner USER --all)");
    }
    if (c->reason && (err = at_check_description(c->reason)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: invalid --reason %s: "
                           "%s", at_ops_quote(c->reason, c->pool), err);
    }
    if (!c->args->nelts) {
        return at_cli_fail(c, AT_EXIT_USAGE, "revoke: missing argument ID "
                           "(usage: apitoken revoke ID | --owner USER "
                           "--all)");
    }
    id = ARG(c, 0);
    if ((code = check_id(c, id)) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_revoke(&rec, &o, id, c->reason)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

int at_cmd_rotate(at_cli_t *c)
{
    const char *id = ARG(c, 0), *err = NULL;
    char tokstr[AT_TOKEN_MAX + 1];
    apr_int64_t grace = 0;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code, ended = 0;

    if ((code = check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if (c->grace && at_duration_parse(&grace, c->grace, &err)
                    != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_USAGE, "rotate: invalid --grace %s: %s",
                           at_ops_quote(c->grace, c->pool),
                           err ? err : "not a duration");
    }
    if (grace < 0) {
        return at_cli_fail(c, AT_EXIT_USAGE, "rotate: invalid --grace %s: "
                           "negative", at_ops_quote(c->grace, c->pool));
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_rotate(&rec, tokstr, &o, id, grace, c->force, &ended))
        != APR_SUCCESS) {
        wipe_token(c, tokstr);
        if (rv == APR_EBUSY && !c->force && o.error
            && strstr(o.error, "force")) {
            return at_cli_fail(c, AT_EXIT_NOTFOUND, "%s: give --force",
                               o.error);
        }
        return ops_fail(c, &o, rv);
    }
    if (ended) {
        /* Said on stderr so that --json output stays one document. */
        fprintf(stderr, "apitoken: rotate: the secret from before the last "
                "rotation stopped working now (--force)\n");
    }
    print_token(c, rec, tokstr);
    wipe_token(c, tokstr);
    return AT_EXIT_OK;
}

int at_cmd_delete(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = check_id(c, id)) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    ops_init(c, &o);
    if ((rv = at_ops_delete(&rec, &o, id)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    if (c->json) {
        fputs("{\"deleted\": ", c->out);
        at_json_str(c->out, id);
        fputs("}\n", c->out);
    }
    else {
        fprintf(c->out, "Deleted token %s\n", id);
    }
    return AT_EXIT_OK;
}

int at_cmd_prune(at_cli_t *c)
{
    apr_array_header_t *all, *gone;
    at_time_t before = AT_TIME_NONE;
    apr_status_t rv;
    int i, code;

    if (c->before
        && (code = parse_time(c, &before, c->before, "date")) != AT_EXIT_OK) {
        return code;
    }
    if (c->before && before == AT_TIME_NONE) {
        return at_cli_fail(c, AT_EXIT_USAGE, "prune: --before needs a date, "
                           "not %s", at_ops_quote(c->before, c->pool));
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK
        || (code = at_cli_begin(c, 1)) != AT_EXIT_OK) {
        return code;
    }
    if ((rv = at_store_list(&all, c->store, NULL, c->pool)) != APR_SUCCESS) {
        return at_cli_store_fail(c, rv, "prune", NULL);
    }
    gone = apr_array_make(c->pool, 8, sizeof(const char *));
    for (i = 0; i < all->nelts; i++) {
        at_token_rec_t *r = APR_ARRAY_IDX(all, i, at_token_rec_t *);
        at_time_t ended = AT_TIME_NONE;
        at_audit_rec_t ev;

        if (r->revoked_at != AT_TIME_NONE) {
            ended = r->revoked_at;
        }
        if (r->expires_at != AT_TIME_NONE && r->expires_at <= c->now
            && (ended == AT_TIME_NONE || r->expires_at < ended)) {
            ended = r->expires_at;
        }
        if (ended == AT_TIME_NONE
            || (before != AT_TIME_NONE && ended >= before)) {
            continue;
        }
        if (c->dry_run) {
            APR_ARRAY_PUSH(gone, const char *) = r->id;
            continue;
        }
        if ((rv = at_store_remove(c->store, r->id)) != APR_SUCCESS) {
            return at_cli_store_fail(c, rv, "prune", r->id);
        }
        memset(&ev, 0, sizeof(ev));
        ev.at = c->now;
        ev.action = "delete";
        ev.token_id = r->id;
        ev.owner = r->owner;
        ev.actor = c->actor;
        ev.detail = apr_psprintf(c->pool, "pruned (%s), owner %s, name %s",
                                 at_token_rec_status(r, c->now), r->owner,
                                 r->name);
        if ((rv = at_store_audit_add(c->store, &ev)) != APR_SUCCESS) {
            return at_cli_store_fail(c, rv, "audit", r->id);
        }
        APR_ARRAY_PUSH(gone, const char *) = r->id;
    }
    if (c->dry_run) {
        at_cli_abort(c, AT_EXIT_OK);
    }
    else if ((code = at_cli_finish(c, "prune", "",
                                   apr_psprintf(c->pool, "%d tokens deleted",
                                                gone->nelts)))
             != AT_EXIT_OK) {
        return code;
    }
    if (c->json) {
        fprintf(c->out, "{\"%s\": %d, \"ids\": [",
                c->dry_run ? "would_delete" : "deleted", gone->nelts);
        for (i = 0; i < gone->nelts; i++) {
            fputs(i ? ", " : "", c->out);
            at_json_str(c->out, APR_ARRAY_IDX(gone, i, const char *));
        }
        fputs("]}\n", c->out);
    }
    else {
        fprintf(c->out, "%s %d token%s%s%s\n",
                c->dry_run ? "Would prune" : "Pruned", gone->nelts,
                gone->nelts == 1 ? "" : "s", gone->nelts ? ": " : "",
                apr_array_pstrcat(c->pool, gone, ' '));
    }
    return AT_EXIT_OK;
}

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

    if ((code = parse_scopes(c, &need, c->scopes, "scope")) != AT_EXIT_OK) {
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
                fputs(", \"allowed_ips\": ", c->out);
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

    if (id && (code = check_id(c, id)) != AT_EXIT_OK) {
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
    else if (c->since && (code = parse_time(c, &since, c->since, "--since"))
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
    ops_init(c, &o);
    o.owner = c->owner;
    if ((rv = at_ops_audit(&evs, &o, id)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
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
    ops_init(c, &o);
    rv = at_ops_revoke_leaked(&rec, &already, &o, buf, c->reason);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rv != APR_SUCCESS) {
        return at_cli_fail(c, ops_code(rv), "revoke-leaked: %s",
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
    ops_init(c, &o);
    if ((rv = at_usage_audit(&found, &o, &req)) != APR_SUCCESS) {
        return ops_fail(c, &o, rv);
    }
    since = req.unused_days ? tracking(c) : 0;
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
