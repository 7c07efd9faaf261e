/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_CMD_INT_H
#define APITOKEN_CMD_INT_H

/* What the command handlers share (apitoken_cmd.c: init, create, list
 * and show; apitoken_cmd_change.c: the commands that change a token;
 * apitoken_cmd_check.c: verify, log, revoke-leaked and audit): argument
 * checks, the store lookups and the mapping of at_ops results to exit
 * codes. */

#include "apitoken.h"

#define ARG(c, i) APR_ARRAY_IDX((c)->args, (i), const char *)

int at_cmd_check_id(at_cli_t *c, const char *id);

/* Normalised scope set of the raw option values (repeated flags and
 * comma/space lists). */
int at_cmd_parse_scopes(at_cli_t *c, apr_array_header_t **out,
                        const apr_array_header_t *raw, const char *opt);

/* With a catalogue, every scope's feature must be listed in it. */
int at_cmd_check_catalogue(at_cli_t *c, const apr_array_header_t *scopes);
/* The --catalogue file as a set of features (NULL without one). */
int at_cmd_load_catalogue(at_cli_t *c, apr_hash_t **known);

int at_cmd_parse_time(at_cli_t *c, at_time_t *t, const char *s,
                      const char *what);

/* Exit code of an at_ops status, as the contract has it. */
int at_cmd_ops_code(apr_status_t rv);

int at_cmd_ops_fail(at_cli_t *c, at_ops_t *o, apr_status_t rv);

void at_cmd_ops_init(at_cli_t *c, at_ops_t *o);

/* What httpd recorded of ApiTokenTrackUsage (see at_store.h); 0 when
 * nothing or when it cannot be read (an older store is no error).  Off
 * makes missing last uses print as "not tracked". */
at_time_t at_cmd_tracking(at_cli_t *c);
void at_cmd_print_token(at_cli_t *c, const at_token_rec_t *rec,
                        const char *token);

/* The printed secret is gone from our memory once it is written out. */
void at_cmd_wipe_token(at_cli_t *c, char *str);

#endif
