/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_OPTS_H
#define APITOKEN_OPTS_H

/* The command table of the admin tool: every option and command, their
 * help texts and the lookups apitoken.c's parser and --help use. */

#include "apitoken.h"

/* Long-only options get ids above the char range. */
enum {
    OPT_HELP = 'h',
    OPT_DB = 256,
    OPT_JSON,
    OPT_ACTOR,
    OPT_CATALOGUE,
    OPT_VERBOSE,
    OPT_PREFIX,
    OPT_OWNER,
    OPT_NAME,
    OPT_SCOPE,
    OPT_FULL,
    OPT_RESTRICTED,
    OPT_EXPIRES,
    OPT_ALLOW_IP,
    OPT_DESCRIPTION,
    OPT_STATUS,
    OPT_ADD,
    OPT_REMOVE,
    OPT_GRACE,
    OPT_BEFORE,
    OPT_FROM,
    OPT_USER,
    OPT_ALL,
    OPT_REASON,
    OPT_UNUSED_SCOPES,
    OPT_UNUSED,
    OPT_EXPIRING,
    OPT_ANY_ADDRESS,
    OPT_FORCE,
    OPT_DRY_RUN,
    OPT_SINCE,
    OPT_ACTION,
    OPT_WITHIN,
    OPT_RESOURCE,
    OPT_ADD_RESOURCE,
    OPT_REMOVE_RESOURCE,
    OPT_ANY_RESOURCE
};

typedef struct {
    int id;
    const char *name;
    const char *arg;           /* NULL for a flag */
    const char *help;
} at_opt_t;

typedef struct {
    const char *name;
    const char *args;          /* positional synopsis */
    int min_args, max_args;
    const int *opts;           /* command options, 0-terminated */
    const char *synopsis;      /* options synopsis */
    const char *summary;
    at_cmd_fn *fn;
} at_cmd_t;

extern const int at_cli_global_opts[];


int at_cli_cmd_help(at_cli_t *c);

const at_opt_t *at_cli_find_opt(int id);

const at_cmd_t *at_cli_find_cmd(const char *name);

void at_cli_usage_main(FILE *f);

void at_cli_usage_cmd(FILE *f, const at_cmd_t *cmd);

#endif
