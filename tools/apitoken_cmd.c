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
#include "apitoken_cmd_int.h"

#define CATALOGUE_MAX_LINES 10000

int at_cmd_check_id(at_cli_t *c, const char *id)
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
int at_cmd_parse_scopes(at_cli_t *c, apr_array_header_t **out,
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
int at_cmd_load_catalogue(at_cli_t *c, apr_hash_t **known)
{
    FILE *f;
    char line[1024];
    int n = 0;

    *known = NULL;
    if (!c->catalogue) {
        return AT_EXIT_OK;
    }
    if (!(f = fopen(c->catalogue, "r"))) {
        return at_cli_fail(c, AT_EXIT_USAGE, "cannot read catalogue %s: %s",
                           at_ops_quote(c->catalogue, c->pool),
                           strerror(errno));
    }
    *known = apr_hash_make(c->pool);
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
        apr_hash_set(*known, apr_pstrdup(c->pool, w), APR_HASH_KEY_STRING,
                     "");
    }
    fclose(f);
    return AT_EXIT_OK;
}

/* A refused value with the core's message, naming the option it came
 * from and the catalogue when there is one. */
static int check_fail(at_cli_t *c, const at_ops_t *o, apr_status_t rv)
{
    static const char *const options[][2] = {
        { "owner", "--owner" }, { "name", "--name" },
        { "description", "--description" }, { "scopes", "--scope" },
        { "full_access", "--scope, --full-access" },
        { "expires", "--expires" }, { "nets", "--allow-ip" },
        { "resources", "--resource" },
    };
    const char *opt = NULL;
    unsigned int i;

    if (rv == APR_ENOENT && c->catalogue) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s (not in catalogue %s)",
                           o->error, at_ops_quote(c->catalogue, c->pool));
    }
    for (i = 0; o->field && i < sizeof(options) / sizeof(options[0]); i++) {
        if (!strcmp(o->field, options[i][0])) {
            opt = options[i][1];
        }
    }
    return at_cli_fail(c, at_cmd_ops_code(rv), "%s%s%s%s", o->error,
                       opt ? " (" : "", opt ? opt : "", opt ? ")" : "");
}

int at_cmd_check_catalogue(at_cli_t *c, const apr_array_header_t *scopes)
{
    at_ops_t o;
    apr_status_t rv;
    int code;

    if (!c->catalogue || scopes->nelts == 0) {
        return AT_EXIT_OK;
    }
    /* The rule is the core's, as for the management API's catalogue; it
     * runs before the database is opened, so a bad scope is a usage error
     * even when the database is down. */
    at_ops_init(&o, NULL, c->actor, c->now, NULL, c->pool);
    if ((code = at_cmd_load_catalogue(c, &o.features)) != AT_EXIT_OK) {
        return code;
    }
    if ((rv = at_ops_check_features(&o, scopes, c->cmd)) != APR_SUCCESS) {
        return check_fail(c, &o, rv);
    }
    return AT_EXIT_OK;
}

int at_cmd_parse_time(at_cli_t *c, at_time_t *t, const char *s,
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
int at_cmd_ops_code(apr_status_t rv)
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

int at_cmd_ops_fail(at_cli_t *c, at_ops_t *o, apr_status_t rv)
{
    return at_cli_fail(c, at_cmd_ops_code(rv), "%s", o->error ? o->error
                                                       : "unknown error");
}

void at_cmd_ops_init(at_cli_t *c, at_ops_t *o)
{
    at_ops_init(o, c->store, c->actor, c->now, c->schema_prefix, c->pool);
}

at_time_t at_cmd_tracking(at_cli_t *c)
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

void at_cmd_print_token(at_cli_t *c, const at_token_rec_t *rec,
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
void at_cmd_wipe_token(at_cli_t *c, char *str)
{
    fflush(c->out);
    OPENSSL_cleanse(c->outbuf, c->outbuf_len);
    OPENSSL_cleanse(str, AT_TOKEN_MAX + 1);
}

int at_cmd_init(at_cli_t *c)
{
    at_ops_init_t res;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = at_cli_open(c, 1, 0)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_init_store(&res, &o, c->prefix)) != APR_SUCCESS) {
        return at_cli_fail(c, at_cmd_ops_code(rv), "init: %s", o.error);
    }
    if (c->json) {
        fprintf(c->out, "{\"database\": ");
        at_json_str(c->out, c->store->url->redacted);
        fprintf(c->out, ", \"schema_version\": %d, \"prefix\": ",
                AT_SCHEMA_VERSION);
        at_json_str(c->out, res.prefix);
        fprintf(c->out, ", \"created\": %s, \"upgraded\": %s}\n",
                res.created ? "true" : "false",
                res.upgraded ? "true" : "false");
    }
    else {
        fprintf(c->out, "%s schema version %d in %s (token prefix %s)\n",
                res.created ? "Created"
                            : (res.upgraded ? "Upgraded" : "Up to date:"),
                AT_SCHEMA_VERSION, c->store->url->redacted, res.prefix);
    }
    return AT_EXIT_OK;
}

int at_cmd_create(at_cli_t *c)
{
    at_token_rec_t *rec;
    at_create_req_t req;
    at_create_norm_t norm;
    at_ops_t o;
    char tokstr[AT_TOKEN_MAX + 1];
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
    if (c->restricted) {
        return at_cli_fail(c, AT_EXIT_USAGE, "create: --restricted is "
                           "implied by --scope; it is not an option here");
    }
    if (c->expires
        && (code = at_cmd_parse_time(c, &expires, c->expires, "expiry"))
           != AT_EXIT_OK) {
        return code;
    }
    memset(&req, 0, sizeof(req));
    req.owner = c->owner;
    req.name = c->name;
    req.description = c->description;
    req.scopes = c->scopes;
    req.full_access = c->full_access;
    req.expires = expires;
    req.nets = c->nets->nelts > 0
               ? apr_array_pstrcat(c->pool, c->nets, ' ') : NULL;
    req.resources = c->resources->nelts > 0
                    ? apr_array_pstrcat(c->pool, c->resources, ' ') : NULL;
    /* The core's rules of a new token, before the database is opened:
     * a bad value is a usage error even when the database is down. */
    at_ops_init(&o, NULL, c->actor, c->now, NULL, c->pool);
    if ((code = at_cmd_load_catalogue(c, &o.features)) != AT_EXIT_OK) {
        return code;
    }
    if ((rv = at_ops_check_create(&norm, &o, &req)) != APR_SUCCESS) {
        return check_fail(c, &o, rv);
    }

    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_create(&rec, tokstr, &o, &req)) != APR_SUCCESS) {
        at_cmd_wipe_token(c, tokstr);
        return at_cmd_ops_fail(c, &o, rv);
    }
    at_cmd_print_token(c, rec, tokstr);
    at_cmd_wipe_token(c, tokstr);
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
        at_cmd_tracking(c);
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

    if ((code = at_cmd_check_id(c, ARG(c, 0))) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK
        || (code = load(c, &rec, ARG(c, 0))) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_usage_scopes(&uses, &o, rec)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    if (!c->json) {
        at_cmd_tracking(c);
        at_cmd_print_token(c, rec, NULL);
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
