/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_TOKEN_JSON_H
#define AT_TOKEN_JSON_H

/* A token as JSON: one object, one set of field names, for the tool's
 * --json output and the management API alike.  No httpd headers. */

#include "at_json.h"
#include "at_store.h"
#include "at_time.h"

/* A time as an ISO 8601 string, or null for AT_TIME_NONE. */
void at_jbuf_time(at_jbuf_t *b, at_time_t t);

/* t as {"id", "owner", "name", "description", "full_access", "scopes",
 * "allowed_networks", "resources", "status", "created_at", "expires_at",
 * "revoked_at", "last_used_at", "last_used_addr",
 * "previous_secret_until"} and, when secret is given, "token".  status:
 * the caller's word for the state (NULL: at_token_rec_status).  open:
 * leave the object open for the caller's own fields (each written as
 * ", \"key\": value"), then "}". */
void at_token_json(at_jbuf_t *b, const at_token_rec_t *t, at_time_t now,
                   const char *status, const char *secret, int open);

#endif
