/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The commands that change a token: rename, edit, scope, expire, revoke
 * (one token or all of an owner's), rotate, delete and prune.  Every change
 * is one transaction of at_ops ending in an audit event. */

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

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if ((err = at_check_name(name)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "rename: invalid name %s: %s",
                           at_ops_quote(name, c->pool), err);
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_rename(&rec, &o, id, name)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    at_cmd_print_token(c, rec, NULL);
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

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK) {
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
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_edit(&rec, &o, id, &e)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    at_cmd_print_token(c, rec, NULL);
    return AT_EXIT_OK;
}

int at_cmd_scope(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    apr_array_header_t *add, *rm;
    at_scope_change_t ch;
    at_token_edit_t e;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code, scopes = c->add->nelts || c->remove->nelts || c->full_access
                       || c->restricted;
    int res = c->add_resources->nelts || c->remove_resources->nelts
              || c->any_resource;

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK) {
        return code;
    }
    if (c->full_access && c->restricted) {
        return at_cli_fail(c, AT_EXIT_USAGE, "scope: give --full-access or "
                           "--restricted, not both");
    }
    if (c->any_resource && c->add_resources->nelts) {
        return at_cli_fail(c, AT_EXIT_USAGE, "scope: give --add-resource or "
                           "--any-resource, not both");
    }
    if (!scopes && !res) {
        return at_cli_fail(c, AT_EXIT_USAGE, "scope: nothing to change (give "
                           "--add, --remove, --full-access, --restricted, "
                           "--add-resource, --remove-resource or "
                           "--any-resource)");
    }
    if ((code = at_cmd_parse_scopes(c, &add, c->add, "add")) != AT_EXIT_OK
        || (code = at_cmd_parse_scopes(c, &rm, c->remove, "remove"))
               != AT_EXIT_OK
        || (code = at_cmd_check_catalogue(c, add)) != AT_EXIT_OK) {
        return code;
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    memset(&ch, 0, sizeof(ch));
    ch.add = add;
    ch.remove = rm;
    ch.full = c->full_access ? 1 : (c->restricted ? 0 : -1);
    /* Scopes and resources change in one transaction, each audited. */
    memset(&e, 0, sizeof(e));
    e.scope = scopes ? &ch : NULL;
    e.resources = c->any_resource ? "" : NULL;
    e.add_resources = c->add_resources->nelts
        ? apr_array_pstrcat(c->pool, c->add_resources, ' ') : NULL;
    e.remove_resources = c->remove_resources->nelts
        ? apr_array_pstrcat(c->pool, c->remove_resources, ' ') : NULL;
    if ((rv = res ? at_ops_edit(&rec, &o, id, &e)
                  : at_ops_scope(&rec, &o, id, &ch)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    at_cmd_print_token(c, rec, NULL);
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

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK
        || (code = at_cmd_parse_time(c, &t, ARG(c, 1), "date"))
               != AT_EXIT_OK) {
        return code;
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_expire(&rec, &o, id, t)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    note_unchanged(c, &o, id);
    at_cmd_print_token(c, rec, NULL);
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
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_revoke_owner(&recs, &o, c->owner, c->reason))
        != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
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
    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_revoke(&rec, &o, id, c->reason)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
    }
    at_cmd_print_token(c, rec, NULL);
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

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK) {
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
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_rotate(&rec, tokstr, &o, id, grace, c->force, &ended))
        != APR_SUCCESS) {
        at_cmd_wipe_token(c, tokstr);
        if (rv == APR_EBUSY && !c->force && o.error
            && strstr(o.error, "force")) {
            return at_cli_fail(c, AT_EXIT_NOTFOUND, "%s: give --force",
                               o.error);
        }
        return at_cmd_ops_fail(c, &o, rv);
    }
    if (ended) {
        /* Said on stderr so that --json output stays one document. */
        fprintf(stderr, "apitoken: rotate: the secret from before the last "
                "rotation stopped working now (--force)\n");
    }
    at_cmd_print_token(c, rec, tokstr);
    at_cmd_wipe_token(c, tokstr);
    return AT_EXIT_OK;
}

int at_cmd_delete(at_cli_t *c)
{
    const char *id = ARG(c, 0);
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int code;

    if ((code = at_cmd_check_id(c, id)) != AT_EXIT_OK
        || (code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_delete(&rec, &o, id)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
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
    apr_array_header_t *gone;
    at_time_t before = AT_TIME_NONE;
    at_ops_t o;
    apr_status_t rv;
    int i, code;

    if (c->before
        && (code = at_cmd_parse_time(c, &before, c->before, "date"))
               != AT_EXIT_OK) {
        return code;
    }
    if (c->before && before == AT_TIME_NONE) {
        return at_cli_fail(c, AT_EXIT_USAGE, "prune: --before needs a date, "
                           "not %s", at_ops_quote(c->before, c->pool));
    }
    if ((code = at_cli_open(c, 0, 1)) != AT_EXIT_OK) {
        return code;
    }
    at_cmd_ops_init(c, &o);
    if ((rv = at_ops_prune(&gone, &o, before, c->dry_run)) != APR_SUCCESS) {
        return at_cmd_ops_fail(c, &o, rv);
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
