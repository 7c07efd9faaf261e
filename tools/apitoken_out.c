/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Output of the admin tool: JSON documents and human-readable text.  The
 * secret never passes through here except as the `token` of create and
 * rotate. */

#include <string.h>

#include <apr_strings.h>

#include "at_time.h"
#include "apitoken.h"

void at_json_str(FILE *f, const char *s)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");

    putc('"', f);
    while (*u) {
        apr_size_t n = at_utf8_seq(u, AT_UTF8_NUL_TERMINATED, NULL);

        if (n > 1) {
            fwrite(u, 1, n, f);
            u += n;
            continue;
        }
        if (n == 0) {
            /* Not UTF-8: the replacement character keeps the JSON valid. */
            fputs("\\ufffd", f);
        }
        else if (*u == '"') {
            fputs("\\\"", f);
        }
        else if (*u == '\\') {
            fputs("\\\\", f);
        }
        else if (*u == '\n') {
            fputs("\\n", f);
        }
        else if (*u == '\t') {
            fputs("\\t", f);
        }
        else if (*u == '\r') {
            fputs("\\r", f);
        }
        else if (*u < 0x20 || *u == 0x7f) {
            fprintf(f, "\\u%04x", *u);
        }
        else {
            putc(*u, f);
        }
        u++;
    }
    putc('"', f);
}

void at_json_time(FILE *f, at_time_t t)
{
    char buf[AT_TIME_STRLEN + 1];

    if (t == AT_TIME_NONE) {
        fputs("null", f);
        return;
    }
    at_time_format(buf, t);
    at_json_str(f, buf);
}

/* A JSON array of the space-separated words of s. */
void at_json_words(FILE *f, const char *words)
{
    const char *p = words ? words : "";
    int first = 1;

    putc('[', f);
    while (*p) {
        apr_size_t n;

        while (*p == ' ') {
            p++;
        }
        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }
        if (!first) {
            fputs(", ", f);
        }
        first = 0;
        /* Words are validated scopes or networks: plain ASCII. */
        putc('"', f);
        fwrite(p, 1, n, f);
        putc('"', f);
        p += n;
    }
    putc(']', f);
}

static void json_key(FILE *f, const char *key, int first)
{
    fprintf(f, "%s\"%s\": ", first ? "" : ", ", key);
}

void at_json_token(FILE *f, const at_token_rec_t *r, at_time_t now,
                   const char *token)
{
    at_json_token_open(f, r, now, token);
    putc('}', f);
}

void at_json_token_open(FILE *f, const at_token_rec_t *r, at_time_t now,
                        const char *token)
{
    putc('{', f);
    json_key(f, "id", 1);
    at_json_str(f, r->id);
    json_key(f, "owner", 0);
    at_json_str(f, r->owner);
    json_key(f, "name", 0);
    at_json_str(f, r->name);
    json_key(f, "scopes", 0);
    at_json_words(f, r->scopes);
    json_key(f, "full_access", 0);
    fputs(r->full_access ? "true" : "false", f);
    json_key(f, "status", 0);
    at_json_str(f, at_token_rec_status(r, now));
    json_key(f, "created_at", 0);
    at_json_time(f, r->created_at);
    json_key(f, "expires_at", 0);
    at_json_time(f, r->expires_at);
    json_key(f, "revoked_at", 0);
    at_json_time(f, r->revoked_at);
    json_key(f, "last_used_at", 0);
    at_json_time(f, r->last_used_at);
    json_key(f, "last_used_addr", 0);
    if (r->last_used_addr && *r->last_used_addr) {
        at_json_str(f, r->last_used_addr);
    }
    else {
        fputs("null", f);
    }
    json_key(f, "allowed_ips", 0);
    at_json_words(f, r->allowed_nets);
    json_key(f, "description", 0);
    at_json_str(f, r->description);
    json_key(f, "previous_secret_until", 0);
    at_json_time(f, (r->prev_digest && *r->prev_digest && r->prev_until > now)
                 ? r->prev_until : AT_TIME_NONE);
    if (token) {
        json_key(f, "token", 0);
        at_json_str(f, token);
    }
}

/* A C0 control, DEL or a C1 control (U+0080 to U+009F, two bytes in
 * UTF-8: some terminals obey U+009B as CSI), given a well-formed sequence
 * of n bytes. */
static int is_control(const unsigned char *u, apr_size_t n)
{
    if (n == 1) {
        return u[0] < 0x20 || u[0] == 0x7f;
    }
    return n == 2 && u[0] == 0xc2 && u[1] <= 0x9f;
}

const char *at_text_clean(const char *s, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    apr_size_t i, o = 0;
    char *buf;

    /* The tool refuses control characters, but the database may have been
     * written by something else: never send raw escapes to a terminal. */
    for (i = 0; u[i]; i++) {
        apr_size_t n = at_utf8_seq(u + i, AT_UTF8_NUL_TERMINATED, NULL);

        if (n == 0 || is_control(u + i, n)) {
            break;
        }
        i += n - 1;
    }
    if (!u[i]) {
        return s ? s : "";
    }
    buf = apr_palloc(p, strlen(s) * 4 + 1);
    for (i = 0; u[i];) {
        apr_size_t n = at_utf8_seq(u + i, AT_UTF8_NUL_TERMINATED, NULL);

        if (n == 0 || is_control(u + i, n)) {
            /* Byte by byte, C1 included: U+009B is \xc2\x9b. */
            apr_size_t k, len = n ? n : 1;

            for (k = 0; k < len; k++) {
                apr_snprintf(buf + o, 5, "\\x%02x", u[i++]);
                o += 4;
            }
        }
        else {
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        }
    }
    buf[o] = '\0';
    return buf;
}

const char *at_cli_time(at_time_t t, const char *dflt, apr_pool_t *p)
{
    char buf[AT_TIME_STRLEN + 1];

    if (t == AT_TIME_NONE) {
        return dflt;
    }
    at_time_format(buf, t);
    return apr_pstrdup(p, buf);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* What a last use that is not there means: "never" unless httpd recorded
 * that it does not track usage. */
static const char *never_used = "never";

void at_out_not_tracked(void)
{
    never_used = "not tracked";
}

const char *at_out_never_used(void)
{
    return never_used;
}

void at_text_token(FILE *f, const at_token_rec_t *r, at_time_t now,
                   apr_pool_t *p)
{
    fprintf(f, "id:             %s\n", r->id);
    fprintf(f, "owner:          %s\n", at_text_clean(r->owner, p));
    fprintf(f, "name:           %s\n", at_text_clean(r->name, p));
    fprintf(f, "status:         %s\n", at_token_rec_status(r, now));
    fprintf(f, "access:         %s\n", r->full_access ? "full" : "restricted");
    fprintf(f, "scopes:         %s\n", or_dash(r->scopes));
    fprintf(f, "created_at:     %s\n", at_cli_time(r->created_at, "-", p));
    fprintf(f, "expires_at:     %s\n", at_cli_time(r->expires_at, "never", p));
    fprintf(f, "revoked_at:     %s\n", at_cli_time(r->revoked_at, "-", p));
    fprintf(f, "last_used_at:   %s\n",
            at_cli_time(r->last_used_at, never_used, p));
    fprintf(f, "last_used_addr: %s\n",
            or_dash(at_text_clean(r->last_used_addr, p)));
    fprintf(f, "allowed_ips:    %s\n",
            r->allowed_nets && *r->allowed_nets ? r->allowed_nets : "any");
    fprintf(f, "description:    %s\n",
            or_dash(at_text_clean(r->description, p)));
    if (r->prev_digest && *r->prev_digest && r->prev_until > now) {
        fprintf(f, "previous_secret_until: %s\n",
                at_cli_time(r->prev_until, "-", p));
    }
}

/* Display width: code points, which is right for most scripts. */
static int width(const char *s)
{
    int w = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80) {
            w++;
        }
    }
    return w;
}

static void cell(FILE *f, const char *s, int w, int last)
{
    int pad = w - width(s);

    fputs(s, f);
    if (last) {
        putc('\n', f);
        return;
    }
    while (pad-- > 0) {
        putc(' ', f);
    }
    fputs("  ", f);
}

#define NCOLS 7

void at_text_list(FILE *f, const apr_array_header_t *recs, at_time_t now,
                  apr_pool_t *p)
{
    static const char *const head[NCOLS] = {
        "ID", "OWNER", "NAME", "STATUS", "SCOPES", "EXPIRES", "LAST_USED"
    };
    const char ***rows = apr_pcalloc(p, sizeof(*rows) * (recs->nelts + 1));
    int w[NCOLS], i, j;

    rows[0] = (const char **)head;
    for (i = 0; i < recs->nelts; i++) {
        const at_token_rec_t *r = APR_ARRAY_IDX(recs, i, at_token_rec_t *);
        const char **row = apr_pcalloc(p, sizeof(*row) * NCOLS);

        row[0] = r->id;
        row[1] = at_text_clean(r->owner, p);
        row[2] = at_text_clean(r->name, p);
        row[3] = at_token_rec_status(r, now);
        row[4] = r->full_access ? "(full access)" : or_dash(r->scopes);
        row[5] = at_cli_time(r->expires_at, "never", p);
        row[6] = at_cli_time(r->last_used_at, never_used, p);
        rows[i + 1] = row;
    }
    for (j = 0; j < NCOLS; j++) {
        w[j] = 0;
        for (i = 0; i <= recs->nelts; i++) {
            int cw = width(rows[i][j]);

            if (cw > w[j]) {
                w[j] = cw;
            }
        }
    }
    for (i = 0; i <= recs->nelts; i++) {
        for (j = 0; j < NCOLS; j++) {
            cell(f, rows[i][j], w[j], j == NCOLS - 1);
        }
    }
}

void at_json_audit(FILE *f, const at_audit_rec_t *ev)
{
    fprintf(f, "{\"seq\": %" APR_INT64_T_FMT ", \"at\": ", ev->seq);
    at_json_time(f, ev->at);
    fputs(", \"action\": ", f);
    at_json_str(f, ev->action);
    fputs(", \"token_id\": ", f);
    if (ev->token_id && *ev->token_id) {
        at_json_str(f, ev->token_id);
    }
    else {
        fputs("null", f);
    }
    fputs(", \"owner\": ", f);
    if (ev->owner && *ev->owner) {
        at_json_str(f, ev->owner);
    }
    else {
        fputs("null", f);
    }
    fputs(", \"actor\": ", f);
    at_json_str(f, ev->actor);
    fputs(", \"detail\": ", f);
    at_json_str(f, ev->detail);
    putc('}', f);
}

void at_text_audit(FILE *f, const apr_array_header_t *evs, apr_pool_t *p)
{
    int i;

    for (i = 0; i < evs->nelts; i++) {
        const at_audit_rec_t *ev = APR_ARRAY_IDX(evs, i, at_audit_rec_t *);

        fprintf(f, "%s  %-8s %-12s %-10s%s%s\n", at_cli_time(ev->at, "-", p),
                at_text_clean(ev->action, p),
                or_dash(at_text_clean(ev->token_id, p)),
                at_text_clean(ev->actor, p),
                ev->detail && *ev->detail ? "  " : "",
                at_text_clean(ev->detail, p));
    }
}

void at_json_tokens(FILE *f, const apr_array_header_t *recs, at_time_t now)
{
    int i;

    putc('[', f);
    for (i = 0; i < recs->nelts; i++) {
        fputs(i ? ",\n " : "", f);
        at_json_token(f, APR_ARRAY_IDX(recs, i, at_token_rec_t *), now, NULL);
    }
    fputs("]\n", f);
}
