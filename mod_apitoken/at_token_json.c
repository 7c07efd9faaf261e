/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* A token as JSON (see at_token_json.h). */

#include "at_token_json.h"

void at_jbuf_time(at_jbuf_t *b, at_time_t t)
{
    char buf[AT_TIME_STRLEN + 1];

    if (t == AT_TIME_NONE) {
        at_jbuf_raw(b, "null");
        return;
    }
    at_time_format(buf, t);
    at_jbuf_str(b, buf);
}

void at_token_json(at_jbuf_t *b, const at_token_rec_t *t, at_time_t now,
                   const char *status, const char *secret, int open)
{
    at_jbuf_raw(b, "{\"id\": ");
    at_jbuf_str(b, t->id);
    at_jbuf_raw(b, ", \"owner\": ");
    at_jbuf_str(b, t->owner);
    at_jbuf_raw(b, ", \"name\": ");
    at_jbuf_str(b, t->name);
    at_jbuf_raw(b, ", \"description\": ");
    at_jbuf_str(b, t->description ? t->description : "");
    at_jbuf_raw(b, ", \"full_access\": ");
    at_jbuf_raw(b, t->full_access ? "true" : "false");
    at_jbuf_raw(b, ", \"scopes\": ");
    at_jbuf_words(b, t->scopes);
    at_jbuf_raw(b, ", \"allowed_networks\": ");
    at_jbuf_words(b, t->allowed_nets);
    at_jbuf_raw(b, ", \"resources\": ");
    at_jbuf_words(b, t->resources);
    at_jbuf_raw(b, ", \"status\": ");
    at_jbuf_str(b, status ? status : at_token_rec_status(t, now));
    at_jbuf_raw(b, ", \"created_at\": ");
    at_jbuf_time(b, t->created_at);
    at_jbuf_raw(b, ", \"expires_at\": ");
    at_jbuf_time(b, t->expires_at);
    at_jbuf_raw(b, ", \"revoked_at\": ");
    at_jbuf_time(b, t->revoked_at);
    at_jbuf_raw(b, ", \"last_used_at\": ");
    at_jbuf_time(b, t->last_used_at);
    at_jbuf_raw(b, ", \"last_used_addr\": ");
    at_jbuf_str(b, t->last_used_addr && *t->last_used_addr
                   ? t->last_used_addr : NULL);
    at_jbuf_raw(b, ", \"previous_secret_until\": ");
    at_jbuf_time(b, t->prev_digest && *t->prev_digest && t->prev_until > now
                    ? t->prev_until : AT_TIME_NONE);
    if (secret) {
        at_jbuf_raw(b, ", \"token\": ");
        at_jbuf_str(b, secret);
    }
    if (!open) {
        at_jbuf_raw(b, "}");
    }
}
