/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_AUTHN_H
#define APITOKEN_AUTHN_H

/* The check_authn hook: the credential, the token and its record, and
 * what a successful authentication leaves on the request. */

#include <httpd.h>
#include <apr_tables.h>

#include "at_store.h"

/* What a successful authentication leaves on the request: the token's
 * record and scopes, and what authz noted about them.  Private to
 * apitoken_authn.c, which writes it; authz, usage and the management
 * handler read and note through the functions below. */
typedef struct apitoken_req_t apitoken_req_t;

int apitoken_check_authn(request_rec *r);
int apitoken_note_auth_failure(request_rec *r, const char *auth_type);
int apitoken_fixups(request_rec *r);
int apitoken_is_ours(request_rec *r);
/* The token state of r (or of the request it was made for), NULL when
 * no token of ours authenticated it. */
apitoken_req_t *apitoken_req_get(request_rec *r);

const at_token_rec_t *apitoken_req_record(const apitoken_req_t *q);
/* The token's normalised scopes (const char *). */
const apr_array_header_t *apitoken_req_granted(const apitoken_req_t *q);
/* Granted scopes a Require used (const char *), or NULL. */
const apr_array_header_t *apitoken_req_used_scopes(const apitoken_req_t *q);
/* Required scopes a provider refused, space-separated, or NULL. */
const char *apitoken_req_denied_scopes(const apitoken_req_t *q);
/* 1 once authz let the request through. */
int apitoken_req_authorised(const apitoken_req_t *q);

/* Notes of the authz providers. */
void apitoken_req_add_used_scope(apitoken_req_t *q, const char *scope,
                                 apr_pool_t *p);
void apitoken_req_add_denied_scopes(apitoken_req_t *q, const char *scopes,
                                    apr_pool_t *p);
void apitoken_req_set_denied_resource(apitoken_req_t *q,
                                      const char *resource);

#endif
