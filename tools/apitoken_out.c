/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Output of the admin tool: JSON documents and human-readable text.  The
 * secret never passes through here except as the `token` of create and
 * rotate. */

#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_json.h"
#include "at_text.h"
#include "at_time.h"
#include "at_token_json.h"
#include "apitoken.h"

/* The tool writes JSON with the core's writer (at_json.h, at_token_json.h)
 * into a buffer, then to f: one escaping, one token object for the tool
 * and the management API.  A buffer that held a secret is wiped. */
static void json_out(FILE *f, void (*fill)(at_jbuf_t *, const void *),
                     const void *arg, int wipe)
{
    apr_pool_t *p;
    apr_size_t len;
    const char *text;
    at_jbuf_t b;

    apr_pool_create(&p, NULL);
    at_jbuf_init(&b, p);
    fill(&b, arg);
    text = at_jbuf_text(&b, &len);
    fwrite(text, 1, len, f);
    if (wipe) {
        OPENSSL_cleanse(b.a->elts, b.a->nalloc);
    }
    apr_pool_destroy(p);
}

static void fill_str(at_jbuf_t *b, const void *s)
{
    at_jbuf_str(b, s ? s : "");
}

void at_json_str(FILE *f, const char *s)
{
    json_out(f, fill_str, s, 0);
}

static void fill_time(at_jbuf_t *b, const void *t)
{
    at_jbuf_time(b, *(const at_time_t *)t);
}

void at_json_time(FILE *f, at_time_t t)
{
    json_out(f, fill_time, &t, 0);
}

static void fill_words(at_jbuf_t *b, const void *words)
{
    at_jbuf_words(b, words);
}

void at_json_words(FILE *f, const char *words)
{
    json_out(f, fill_words, words, 0);
}

typedef struct token_arg_t {
    const at_token_rec_t *rec;
    at_time_t now;
    const char *token;
    int open;
} token_arg_t;

static void fill_token(at_jbuf_t *b, const void *arg)
{
    const token_arg_t *a = arg;

    at_token_json(b, a->rec, a->now, NULL, a->token, a->open);
}

void at_json_token(FILE *f, const at_token_rec_t *r, at_time_t now,
                   const char *token)
{
    token_arg_t a = { r, now, token, 0 };

    json_out(f, fill_token, &a, token != NULL);
}

void at_json_token_open(FILE *f, const at_token_rec_t *r, at_time_t now,
                        const char *token)
{
    token_arg_t a = { r, now, token, 1 };

    json_out(f, fill_token, &a, token != NULL);
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
    fprintf(f, "resources:      %s\n",
            r->resources && *r->resources ? r->resources : "any");
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

#define NCOLS 8

/* Space-separated words joined by commas, so a column stays one word. */
static const char *comma_list(const char *words, apr_pool_t *p)
{
    char *s = apr_pstrdup(p, words), *c;

    for (c = s; *c; ++c) {
        if (*c == ' ') {
            *c = ',';
        }
    }
    return s;
}

void at_text_list(FILE *f, const apr_array_header_t *recs, at_time_t now,
                  apr_pool_t *p)
{
    static const char *const head[NCOLS] = {
        "ID", "OWNER", "NAME", "STATUS", "SCOPES", "EXPIRES", "LAST_USED",
        "RESOURCES"
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
        row[7] = r->resources && *r->resources
                 ? comma_list(r->resources, p) : "any";
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
