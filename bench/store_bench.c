/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* store_bench: lookups per second by token id in a small and a large
 * store, their ratio (an indexed lookup keeps it near 1), and the rate of
 * the tool's "create" (insert + audit event + change marker, one
 * transaction each).
 *
 *   store_bench [--small N] [--large N] [--lookups N] [--seconds S]
 *               [--creates N] [--url URL]
 *
 * Without --url the store is a SQLite file in a new temporary directory,
 * removed at the end.  With --url the database should be empty (the
 * schema is created; rows are left behind). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "at_store.h"
#include "at_store_dbi.h"
#include "at_token.h"

#define FILL_BATCH 10000

typedef struct bench_t {
    at_store_t *st;
    char (*ids)[AT_ID_LEN + 1];   /* every id inserted, for lookups */
    long n;                      /* rows in the store */
    apr_uint64_t rng;
} bench_t;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, why);
    exit(1);
}

static apr_uint64_t next_rand(bench_t *b)
{
    /* xorshift64: reproducible and cheap; quality is not the point. */
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

static double secs_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
}

/* One new token record with a real random id and digest. */
static void make_rec(at_token_rec_t *r, char *idbuf, char *digest, long i,
                     char *owner, char *name)
{
    at_token_t tok;
    char full[AT_TOKEN_MAX + 1];

    if (at_token_generate(&tok, full, AT_DEFAULT_PREFIX) != APR_SUCCESS) {
        die("token", "generation failed");
    }
    memcpy(idbuf, tok.id, AT_ID_LEN + 1);
    at_token_digest(digest, tok.secret);
    at_token_wipe(&tok);
    memset(full, 0, sizeof(full));
    snprintf(owner, 32, "user%ld", i % 1000);
    snprintf(name, 32, "token-%ld", i);
    memset(r, 0, sizeof(*r));
    r->id = idbuf;
    r->owner = owner;
    r->name = name;
    r->digest = digest;
    r->scopes = "dns email:read";
    r->created_at = at_time_now();
    r->last_used_addr = "";
    r->allowed_nets = "";
    r->description = "";
    r->prev_digest = "";
}

/* Grow the store to target rows, FILL_BATCH rows per transaction. */
static void fill(bench_t *b, long target)
{
    char digest[AT_DIGEST_HEX_LEN + 1], owner[32], name[32];
    at_token_rec_t r;
    apr_time_t t0 = apr_time_now();
    long start = b->n;

    while (b->n < target) {
        long end = b->n + FILL_BATCH < target ? b->n + FILL_BATCH : target;
        if (at_store_begin(b->st, 1) != APR_SUCCESS) {
            die("begin", at_store_error(b->st));
        }
        for (; b->n < end; b->n++) {
            make_rec(&r, b->ids[b->n], digest, b->n, owner, name);
            if (at_store_insert(b->st, &r) != APR_SUCCESS) {
                die("insert", at_store_error(b->st));
            }
        }
        if (at_store_commit(b->st) != APR_SUCCESS) {
            die("commit", at_store_error(b->st));
        }
    }
    printf("fill    %8ld -> %8ld tokens: %7.2f s\n", start, target,
           secs_since(t0));
}

/* Random lookups by id, at most count and at most max_secs. */
static double lookups(bench_t *b, long count, double max_secs)
{
    apr_pool_t *p;
    at_token_rec_t *rec;
    apr_time_t t0 = apr_time_now();
    double el;
    long i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < count; i++) {
        const char *id = b->ids[next_rand(b) % (apr_uint64_t)b->n];
        if (at_store_lookup(&rec, b->st, id, p) != APR_SUCCESS) {
            die("lookup", at_store_error(b->st));
        }
        apr_pool_clear(p);
        if ((i & 255) == 255 && secs_since(t0) > max_secs) {
            i++;
            break;
        }
    }
    el = secs_since(t0);
    apr_pool_destroy(p);
    printf("lookup  in %8ld tokens: %8ld in %6.2f s = %9.0f /s\n", b->n, i,
           el, i / el);
    return i / el;
}

/* The tool's create: one transaction with insert, audit, bump. */
static void creates(bench_t *b, long count, double max_secs)
{
    char digest[AT_DIGEST_HEX_LEN + 1], owner[32], name[32];
    char idbuf[AT_ID_LEN + 1];
    at_token_rec_t r;
    at_audit_rec_t ev;
    apr_time_t t0 = apr_time_now();
    double el;
    long i;

    for (i = 0; i < count; i++) {
        make_rec(&r, idbuf, digest, b->n + 1000000000L + i, owner, name);
        ev.seq = 0;
        ev.at = r.created_at;
        ev.action = "create";
        ev.token_id = r.id;
        ev.owner = r.owner;
        ev.actor = "bench";
        ev.detail = "";
        if (at_store_begin(b->st, 1) != APR_SUCCESS
            || at_store_insert(b->st, &r) != APR_SUCCESS
            || at_store_audit_add(b->st, &ev) != APR_SUCCESS
            || at_store_bump_change(b->st) != APR_SUCCESS
            || at_store_commit(b->st) != APR_SUCCESS) {
            die("create", at_store_error(b->st));
        }
        if (secs_since(t0) > max_secs) {
            i++;
            break;
        }
    }
    el = secs_since(t0);
    printf("create  (insert+audit+bump, 1 txn each): %ld in %.2f s"
           " = %.0f /s\n", i, el, i / el);
}

static long num_arg(const char *opt, const char *v)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;

    if (v == NULL || *end != '\0' || n <= 0 || n > 100000000L) {
        die(opt, "expects a positive number");
    }
    return n;
}

int main(int argc, char **argv)
{
    long small = 10000, large = 1000000, nlook = 20000, ncreate = 1000;
    double max_secs = 10;
    const char *url_s = NULL, *err = NULL;
    char dir[64] = "";
    apr_pool_t *pool;
    dbi_inst inst;
    at_dburl_t *url;
    bench_t b;
    double r_small, r_large;
    int i;

    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--small")) {
            small = num_arg(argv[i], v);
        }
        else if (!strcmp(argv[i], "--large")) {
            large = num_arg(argv[i], v);
        }
        else if (!strcmp(argv[i], "--lookups")) {
            nlook = num_arg(argv[i], v);
        }
        else if (!strcmp(argv[i], "--creates")) {
            ncreate = num_arg(argv[i], v);
        }
        else if (!strcmp(argv[i], "--seconds")) {
            max_secs = (double)num_arg(argv[i], v);
        }
        else if (!strcmp(argv[i], "--url")) {
            if ((url_s = v) == NULL) {
                die("--url", "expects a database URL");
            }
        }
        else {
            fprintf(stderr, "usage: store_bench [--small N] [--large N]"
                    " [--lookups N] [--creates N] [--seconds S]"
                    " [--url URL]\n");
            return 2;
        }
        i++;
    }
    if (large < small) {
        die("--large", "must not be smaller than --small");
    }

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (url_s == NULL) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/store_bench_XXXXXX",
                 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL) {
            die("mkdtemp", "cannot create a temporary directory");
        }
        url_s = apr_pstrcat(pool, "sqlite3://", dir, "/tokens.db", NULL);
    }
    if (at_dburl_parse(&url, url_s, &err, pool) != APR_SUCCESS) {
        die("--url", err);
    }
    if (at_dbi_init(&inst, NULL, &err) != APR_SUCCESS) {
        die("libdbi", err);
    }
    memset(&b, 0, sizeof(b));
    b.rng = 0x9e3779b97f4a7c15ULL;
    b.ids = calloc((size_t)large, sizeof(*b.ids));
    if (b.ids == NULL) {
        die("memory", "cannot hold the ids");
    }
    if (at_store_dbi_open(&b.st, inst, url, AT_STORE_CREATE, &err, pool)
        != APR_SUCCESS) {
        die("open", err);
    }
    if (at_store_init_schema(b.st, NULL) != APR_SUCCESS) {
        die("init", at_store_error(b.st));
    }
    printf("store_bench: %s\n", url->redacted);

    fill(&b, small);
    r_small = lookups(&b, nlook, max_secs);
    fill(&b, large);
    r_large = lookups(&b, nlook, max_secs);
    printf("ratio   lookups/s %ld vs %ld tokens: %.2f\n", large, small,
           r_large / r_small);
    creates(&b, ncreate, max_secs);

    at_store_close(b.st);
    dbi_shutdown_r(inst);
    free(b.ids);
    if (dir[0]) {
        const char *sfx[] = { "", "-wal", "-shm", NULL };
        for (i = 0; sfx[i]; i++) {
            unlink(apr_pstrcat(pool, dir, "/tokens.db", sfx[i], NULL));
        }
        rmdir(dir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
