/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_ERROR_H
#define APITOKEN_ERROR_H

/* Refusals as RFC 6750 says: the challenge, error_description and the
 * JSON or HTML body. */

#include <httpd.h>

/* The error_description texts that name no token and no reason. */
#define APITOKEN_DESC_NO_CREDENTIALS "this resource needs an access token"
#define APITOKEN_DESC_INVALID_TOKEN "the access token is not valid"
#define APITOKEN_DESC_SCOPE \
    "the token does not hold a scope this resource requires"
/* Longest resource named in an error_description, bytes. */
#define APITOKEN_DESC_RESOURCE_MAX 128
/* The challenge alone, without error_description. */
void apitoken_set_challenge(request_rec *r, const char *error,
                            const char *scope);
/* Refuse r with status as RFC 6750 says: the challenge (error NULL: the
 * bare one sent when no credential came; scope: the insufficient_scope
 * attribute or NULL) and desc, a client-safe text, which goes into the
 * challenge as error_description when in_header is set (only once the
 * client has shown it holds the secret) and into the JSON body always.
 * The caller returns status; error, scope and desc must live as long as
 * r (static text or r->pool). */
void apitoken_refuse(request_rec *r, int status, const char *error,
                     const char *scope, const char *desc, int in_header);
/* Forget the refusal (authz granted after all): a later error of this
 * request is not ours. */
void apitoken_refusal_clear(request_rec *r);
void apitoken_error_register_hooks(apr_pool_t *p);

#endif
