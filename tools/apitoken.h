/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_H
#define APITOKEN_H

/* Shared state of the `apitoken` admin tool: the parsed command line, the
 * open store and the output stream.  apitoken.c parses and dispatches,
 * apitoken_cmd.c holds one handler per command, apitoken_out.c prints. */

#include <stdio.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <dbi/dbi.h>

#include "at_token.h"
#include "at_store.h"
#include "at_ops.h"
#include "at_text.h"

/* Exit codes of the contract. */
#define AT_EXIT_OK       0
#define AT_EXIT_NOTFOUND 1   /* not found, not allowed, conflict, denied */
#define AT_EXIT_USAGE    2
#define AT_EXIT_DB       3

typedef struct at_cli_t {
    apr_pool_t *pool;
    FILE *out;                  /* the real stdout; fd 1 goes to /dev/null */
    char *outbuf;               /* out's stdio buffer, wiped after a secret */
    apr_size_t outbuf_len;
    const char *cmd;            /* command name being run */
    at_time_t now;

    /* global options */
    const char *db_url;
    const char *actor;
    const char *catalogue;      /* file name or NULL */
    int json;
    int verbose;

    /* command options (NULL / 0 when not given) */
    const char *prefix;
    const char *owner;
    const char *name;
    const char *expires;
    const char *description;
    const char *status;
    const char *grace;
    const char *before;
    const char *from;
    const char *user;
    apr_array_header_t *scopes;     /* raw --scope values */
    apr_array_header_t *add;        /* raw --add values */
    apr_array_header_t *remove;     /* raw --remove values */
    apr_array_header_t *nets;       /* raw --allow-ip values */
    apr_array_header_t *resources;  /* raw --resource values */
    apr_array_header_t *add_resources;     /* raw --add-resource values */
    apr_array_header_t *remove_resources;  /* raw --remove-resource */
    int any_resource;               /* scope --any-resource */
    int full_access;
    int restricted;
    int any_address;                /* edit --any-address */
    int force;                      /* rotate --force */
    int dry_run;                    /* prune --dry-run */
    const char *since;              /* log --since */
    const char *action;             /* log --action */
    const char *within;             /* list --status expiring --within */
    int all;                        /* revoke --all */
    const char *reason;             /* --reason */
    const char *unused_scopes;      /* audit windows, days (raw) */
    const char *unused;
    const char *expiring;
    apr_array_header_t *args;       /* positional arguments (const char *) */
    char **argv_raw;                /* the process argv, to wipe a token */
    int argc_raw;

    /* database */
    int dbi_ready;
    dbi_inst inst;
    at_store_t *store;
    const char *schema_prefix;      /* from the schema's meta row */
} at_cli_t;

typedef int at_cmd_fn(at_cli_t *c);

/* Print "apitoken: MSG" as one line on stderr and return code. */
int at_cli_fail(at_cli_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Store plumbing shared by the handlers (apitoken.c).  Each returns an exit
 * code, 0 on success, after printing its own error line. */
int at_cli_open(at_cli_t *c, int create, int need_schema);
/* Map a store status of a read to an exit code with one error line (the
 * changes go through at_ops, which owns their transactions). */
int at_cli_store_fail(at_cli_t *c, apr_status_t rv, const char *what,
                      const char *id);

/* Output (apitoken_out.c). */
void at_json_str(FILE *f, const char *s);
void at_json_time(FILE *f, at_time_t t);
void at_json_words(FILE *f, const char *words);
/* One token object; token (the full secret string) only from create and
 * rotate, else NULL. */
void at_json_token(FILE *f, const at_token_rec_t *r, at_time_t now,
                   const char *token);
/* The same object without its closing brace, for callers adding keys. */
/* A JSON array of the token objects in recs (at_token_rec_t *). */
void at_json_tokens(FILE *f, const apr_array_header_t *recs, at_time_t now);
void at_json_token_open(FILE *f, const at_token_rec_t *r, at_time_t now,
                        const char *token);
/* Last uses that are not there print as "not tracked" from now on. */
void at_out_not_tracked(void);
/* "never" or "not tracked". */
const char *at_out_never_used(void);
void at_text_token(FILE *f, const at_token_rec_t *r, at_time_t now,
                   apr_pool_t *p);
void at_text_list(FILE *f, const apr_array_header_t *recs, at_time_t now,
                  apr_pool_t *p);
void at_json_audit(FILE *f, const at_audit_rec_t *ev);
void at_text_audit(FILE *f, const apr_array_header_t *evs, apr_pool_t *p);
/* "2026-01-02T03:04:05Z", or dflt for AT_TIME_NONE. */
const char *at_cli_time(at_time_t t, const char *dflt, apr_pool_t *p);

/* Command handlers (apitoken_cmd.c). */
int at_cmd_init(at_cli_t *c);
int at_cmd_create(at_cli_t *c);
int at_cmd_list(at_cli_t *c);
int at_cmd_show(at_cli_t *c);
int at_cmd_rename(at_cli_t *c);
int at_cmd_edit(at_cli_t *c);
int at_cmd_scope(at_cli_t *c);
int at_cmd_expire(at_cli_t *c);
int at_cmd_revoke(at_cli_t *c);
int at_cmd_rotate(at_cli_t *c);
int at_cmd_delete(at_cli_t *c);
int at_cmd_prune(at_cli_t *c);
int at_cmd_verify(at_cli_t *c);
int at_cmd_log(at_cli_t *c);
int at_cmd_revoke_leaked(at_cli_t *c);
int at_cmd_audit(at_cli_t *c);

#endif
