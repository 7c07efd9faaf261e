/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_AUTHN_H
#define APITOKEN_AUTHN_H

/* The check_authn hook: the credential, the token and its record, and
 * what a successful authentication leaves on the request. */

#include <httpd.h>

#include "at_store.h"

/* What a successful authentication leaves on the request for the authz
 * provider and the usage hook (r->request_config). */
typedef struct apitoken_req_t {
    const at_token_rec_t *rec;
    const apr_array_header_t *granted;  /* normalised scope strings */
    const char *denied_scopes;          /* required scopes a provider refused */
    const char *denied_resource;        /* resource apitoken-resource refused */
    const char *cred_header;            /* header that carried the credential */
    apr_array_header_t *used_scopes;    /* granted scopes a Require used */
    int authorised;                     /* authz let the request through */
} apitoken_req_t;

int apitoken_check_authn(request_rec *r);
int apitoken_note_auth_failure(request_rec *r, const char *auth_type);
int apitoken_fixups(request_rec *r);
int apitoken_is_ours(request_rec *r);
apitoken_req_t *apitoken_req_get(request_rec *r);

#endif
