/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The backend-neutral part of the store: status of a record and the
 * validation of the free text that reaches SQL (quoted, but only after it
 * passed these checks). */

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_network_io.h>

#include "at_nets.h"
#include "at_store.h"

const char *at_store_error(const at_store_t *s)
{
    if (s == NULL || s->error == NULL) {
        return "no error";
    }
    return s->error;
}

const char *at_token_rec_status(const at_token_rec_t *r, at_time_t now)
{
    /* Revoked wins over expired: revocation is a deliberate act and the
     * status a user should see. */
    if (r->revoked_at != AT_TIME_NONE && r->revoked_at <= now) {
        return "revoked";
    }
    if (r->expires_at != AT_TIME_NONE && r->expires_at <= now) {
        return "expired";
    }
    return "active";
}

at_token_rec_t *at_token_rec_decode(const at_token_row_reader_t *rd,
                                    apr_pool_t *p)
{
    at_token_rec_t *rec = apr_pcalloc(p, sizeof(*rec));
    void *row = rd->row;

    /* In the order of AT_TOKEN_COLUMNS. */
    rec->id = rd->text(row, 0, p);
    rec->owner = rd->text(row, 1, p);
    rec->name = rd->text(row, 2, p);
    rec->digest = rd->text(row, 3, p);
    rec->scopes = rd->text(row, 4, p);
    rec->full_access = rd->number(row, 5) != 0;
    rec->created_at = rd->number(row, 6);
    rec->expires_at = rd->number(row, 7);
    rec->revoked_at = rd->number(row, 8);
    rec->last_used_at = rd->number(row, 9);
    rec->prev_until = rd->number(row, 10);
    rec->last_used_addr = rd->text(row, 11, p);
    rec->allowed_nets = rd->text(row, 12, p);
    rec->prev_digest = rd->text(row, 13, p);
    rec->resources = rd->text(row, 14, p);
    rec->description = rd->text(row, 15, p);
    if (!rec->id || !rec->owner || !rec->name || !rec->digest
        || !rec->scopes || !rec->last_used_addr || !rec->allowed_nets
        || !rec->description || !rec->prev_digest || !rec->resources) {
        return NULL;
    }
    return rec;
}

const char *at_check_nets(const char **norm, const char *s, apr_pool_t *p)
{
    return at_nets_check(norm, s, 1, p);
}

const char *at_check_stored_nets(const char *s, apr_pool_t *p)
{
    const char *norm;

    return at_nets_check(&norm, s, 0, p);
}
