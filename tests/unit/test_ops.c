/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The shared token operations (at_ops) on a SQLite store in a fresh
 * temporary directory: validation, ownership, transactions, audit. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "at_ops.h"
#include "at_scope.h"
#include "at_store_dbi.h"
#include "at_verify.h"

#define NOW 1800000000

static apr_pool_t *pool;
static dbi_inst inst;
static at_store_t *st;
static char tmpdir[64];

static void setup(void)
{
    const char *err = NULL;
    at_dburl_t *u;

    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(at_dbi_init(&inst, NULL, &err), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/at_ops_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(at_dburl_parse(&u, apr_pstrcat(pool, "sqlite3://",
                                    tmpdir, "/tokens.db", NULL), &err, pool),
                     APR_SUCCESS);
    ck_assert_msg(at_store_dbi_open(&st, inst, u, AT_STORE_CREATE, &err,
                                    pool) == APR_SUCCESS, "open: %s", err);
    ck_assert_int_eq(at_store_init_schema(st, "apt"), APR_SUCCESS);
}

static void teardown(void)
{
    const char *sfx[] = { "", "-wal", "-shm", "-journal", NULL };
    int i;

    at_store_close(st);
    for (i = 0; sfx[i]; i++) {
        unlink(apr_pstrcat(pool, tmpdir, "/tokens.db", sfx[i], NULL));
    }
    rmdir(tmpdir);
    dbi_shutdown_r(inst);
    apr_pool_destroy(pool);
}

static apr_array_header_t *words(const char *a, const char *b)
{
    apr_array_header_t *w = apr_array_make(pool, 2, sizeof(const char *));

    if (a) {
        APR_ARRAY_PUSH(w, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(w, const char *) = b;
    }
    return w;
}

static at_token_rec_t *mk(at_ops_t *o, const char *owner, const char *name,
                          char *tok)
{
    at_create_req_t req;
    at_token_rec_t *rec = NULL;

    memset(&req, 0, sizeof(req));
    req.owner = owner;
    req.name = name;
    req.scopes = words("dns", "email:read");
    ck_assert_msg(at_ops_create(&rec, tok, o, &req) == APR_SUCCESS, "%s",
                  o->error);
    return rec;
}

static int n_events(const char *action)
{
    apr_array_header_t *evs;
    int i, n = 0;

    ck_assert_int_eq(at_store_audit_list(&evs, st, NULL, NULL, pool), APR_SUCCESS);
    for (i = 0; i < evs->nelts; i++) {
        at_audit_rec_t *ev = APR_ARRAY_IDX(evs, i, at_audit_rec_t *);
        if (!strcmp(ev->action, action)) {
            n++;
            ck_assert_str_eq(ev->actor, "web:tester");
        }
    }
    return n;
}

START_TEST(create_and_verify)
{
    at_ops_t o;
    char tok[AT_TOKEN_MAX + 1];
    at_token_rec_t *rec, *back;
    at_token_t t;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    rec = mk(&o, "alice", "ci", tok);
    ck_assert_str_eq(rec->scopes, "dns email:read");
    ck_assert_int_eq(at_token_parse(&t, tok, strlen(tok), "apt"),
                     AT_TOKEN_OK);
    ck_assert_str_eq(t.id, rec->id);
    ck_assert_int_eq(at_store_lookup(&back, st, rec->id, pool), APR_SUCCESS);
    ck_assert_int_eq(at_verify_record(back, &t, NOW + 1, NULL, NULL, pool),
                     AT_REASON_OK);
    ck_assert_int_eq(n_events("create"), 1);
}
END_TEST

START_TEST(create_refusals)
{
    static const struct {
        const char *owner, *name, *s1, *nets;
        int full;
        at_time_t exp;
        apr_status_t want;
        const char *msg;
    } t[] = {
        { "", "n", "dns", NULL, 0, 0, APR_EINVAL, "invalid owner" },
        { "a:b", "n", "dns", NULL, 0, 0, APR_EINVAL, "invalid owner" },
        { "alice", "", "dns", NULL, 0, 0, APR_EINVAL, "invalid name" },
        { "alice", "n", "DNS!", NULL, 0, 0, APR_EINVAL, "invalid scope" },
        { "alice", "n", NULL, NULL, 0, 0, APR_EINVAL, "needs at least" },
        { "alice", "n", "dns", NULL, 1, 0, APR_EINVAL, "not both" },
        { "alice", "n", "dns", NULL, 0, NOW - 1, APR_EINVAL, "in the past" },
        { "alice", "n", "dns", "10.0.0.0/33", 0, 0, APR_EINVAL, "networks" },
        { "alice", "n", "mail", NULL, 0, 0, APR_ENOENT, "unknown feature" },
        { "bob", "n", "dns", NULL, 0, 0, APR_EINVAL, "may not be chosen" },
    };
    char tok[AT_TOKEN_MAX + 1];
    apr_array_header_t *recs;
    unsigned int i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        at_create_req_t req;
        at_token_rec_t *rec = NULL;
        at_ops_t o;

        at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
        o.owner = "alice";
        o.features = apr_hash_make(pool);
        apr_hash_set(o.features, "dns", APR_HASH_KEY_STRING, "DNS");
        memset(&req, 0, sizeof(req));
        req.owner = t[i].owner;
        req.name = t[i].name;
        req.scopes = words(t[i].s1, NULL);
        req.full_access = t[i].full;
        req.expires = t[i].exp;
        req.nets = t[i].nets;
        ck_assert_int_eq(at_ops_create(&rec, tok, &o, &req), t[i].want);
        ck_assert_msg(o.error && strstr(o.error, t[i].msg), "%u: %s", i,
                      o.error);
        ck_assert_str_eq(tok, "");
    }
    ck_assert_int_eq(at_store_list(&recs, st, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(recs->nelts, 0);
    ck_assert_int_eq(n_events("create"), 0);
}
END_TEST

START_TEST(owner_isolation)
{
    at_ops_t o, mine;
    char tok[AT_TOKEN_MAX + 1];
    at_token_rec_t *bob, *rec;
    apr_array_header_t *evs;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    bob = mk(&o, "bob", "ci", tok);
    mk(&o, "alice", "ci", tok);
    at_ops_init(&mine, st, "web:tester", NOW, "apt", pool);
    mine.owner = "alice";
    ck_assert_int_eq(at_ops_revoke(&rec, &mine, bob->id, NULL),
                     APR_NOTFOUND);
    ck_assert_int_eq(at_ops_rename(&rec, &mine, bob->id, "x"), APR_NOTFOUND);
    ck_assert_int_eq(at_ops_delete(&rec, &mine, bob->id), APR_NOTFOUND);
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &mine, bob->id, 0, 0, NULL),
                     APR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mine.error, "no token with id"));
    ck_assert_int_eq(at_ops_audit(&evs, &mine, NULL), APR_SUCCESS);
    ck_assert_int_eq(evs->nelts, 1);
    ck_assert_int_eq(at_ops_audit(&evs, &mine, bob->id), APR_NOTFOUND);
    ck_assert_int_eq(at_ops_revoke(&rec, &o, bob->id, NULL), APR_SUCCESS);
    ck_assert_int_ne(rec->revoked_at, AT_TIME_NONE);
}
END_TEST

START_TEST(lifecycle)
{
    at_ops_t o;
    char tok[AT_TOKEN_MAX + 1], tok2[AT_TOKEN_MAX + 1];
    at_token_rec_t *a, *b, *rec;
    at_scope_change_t ch;
    apr_array_header_t *evs;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    a = mk(&o, "alice", "one", tok);
    b = mk(&o, "alice", "two", tok);
    ck_assert_int_eq(at_ops_create(&rec, tok, &o, &(at_create_req_t){
        "alice", "one", NULL, words("dns", NULL), 0, 0, NULL, NULL }), APR_EEXIST);
    ck_assert_int_eq(at_ops_rename(&rec, &o, b->id, "one"), APR_EEXIST);
    ck_assert_int_eq(at_ops_rename(&rec, &o, b->id, "three"), APR_SUCCESS);
    ck_assert_str_eq(rec->name, "three");

    memset(&ch, 0, sizeof(ch));
    ch.full = -1;
    ch.remove = words("files", NULL);
    ck_assert_int_eq(at_ops_scope(&rec, &o, a->id, &ch), APR_EBUSY);
    ch.remove = words("dns", "email:read");
    ck_assert_int_eq(at_ops_scope(&rec, &o, a->id, &ch), APR_EINVAL);
    ch.remove = NULL;
    ch.set = words("files", "dns:read");
    ck_assert_int_eq(at_ops_scope(&rec, &o, a->id, &ch), APR_SUCCESS);
    ck_assert_str_eq(rec->scopes, "dns:read files");
    ch.set = NULL;
    ch.full = 1;
    ck_assert_int_eq(at_ops_scope(&rec, &o, a->id, &ch), APR_SUCCESS);
    ck_assert_int_eq(rec->full_access, 1);

    ck_assert_int_eq(at_ops_expire(&rec, &o, a->id, NOW - 10), APR_SUCCESS);
    ck_assert_str_eq(at_token_rec_status(rec, NOW), "expired");
    ck_assert_int_eq(at_ops_rotate(&rec, tok2, &o, a->id, 3600, 0, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(rec->prev_until, NOW + 3600);
    ck_assert_str_ne(tok, tok2);
    ck_assert_int_eq(at_ops_revoke(&rec, &o, a->id, NULL), APR_SUCCESS);
    ck_assert_int_eq(at_ops_revoke(&rec, &o, a->id, NULL), APR_SUCCESS);
    ck_assert_int_eq(n_events("revoke"), 1);
    ck_assert_int_eq(at_ops_rotate(&rec, tok2, &o, a->id, 0, 0, NULL),
                     APR_EBUSY);
    ck_assert_int_eq(at_ops_delete(&rec, &o, a->id), APR_SUCCESS);
    ck_assert_int_eq(at_ops_delete(&rec, &o, a->id), APR_NOTFOUND);
    ck_assert_int_eq(at_ops_revoke(&rec, &o, "short", NULL), APR_EINVAL);

    /* A deleted token's events stay visible to its owner. */
    o.owner = "alice";
    ck_assert_int_eq(at_ops_audit(&evs, &o, a->id), APR_SUCCESS);
    ck_assert_str_eq(APR_ARRAY_IDX(evs, evs->nelts - 1, at_audit_rec_t *)
                     ->action, "delete");
    o.owner = "alicia";
    ck_assert_int_eq(at_ops_audit(&evs, &o, NULL), APR_SUCCESS);
    ck_assert_int_eq(evs->nelts, 0);
    /* The transaction never stays open after an operation. */
    ck_assert_int_eq(at_store_begin(st, 1), APR_SUCCESS);
    ck_assert_int_eq(at_store_rollback(st), APR_SUCCESS);
}
END_TEST

/* A token of an owner with a space, which only an earlier version could
 * write (at_check_owner refuses it now; the store keeps such rows
 * writable), with its create event as the schema 3 upgrade leaves it. */
static at_token_rec_t *legacy(int n, const char *owner, const char *name)
{
    at_token_rec_t *r = apr_pcalloc(pool, sizeof(*r));
    at_audit_rec_t ev;
    char dig[AT_DIGEST_HEX_LEN + 1];

    memset(dig, 'a', AT_DIGEST_HEX_LEN);
    dig[AT_DIGEST_HEX_LEN] = '\0';
    r->id = apr_psprintf(pool, "Legacy%06d", n);
    r->owner = owner;
    r->name = name;
    r->digest = apr_pstrdup(pool, dig);
    r->scopes = "dns";
    r->created_at = NOW;
    r->expires_at = r->revoked_at = r->last_used_at = AT_TIME_NONE;
    r->prev_until = AT_TIME_NONE;
    r->last_used_addr = r->allowed_nets = r->description = "";
    r->prev_digest = "";
    memset(&ev, 0, sizeof(ev));
    ev.at = NOW;
    ev.action = "create";
    ev.token_id = r->id;
    ev.owner = owner;
    ev.actor = "old";
    ev.detail = apr_psprintf(pool, "owner %s, name %s, scopes dns, expires "
                             "never", owner, name);
    ck_assert_int_eq(at_store_begin(st, 1), APR_SUCCESS);
    ck_assert_int_eq(at_store_insert(st, r), APR_SUCCESS);
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ck_assert_int_eq(at_store_commit(st), APR_SUCCESS);
    return r;
}

/* An account whose name starts with another's followed by ", name " (a
 * legacy owner) and that other account see neither each other's live nor
 * deleted tokens' events, whichever holds the longer name. */
START_TEST(audit_prefix_owner)
{
    static const char *const owners[] = { "alice", "alice, name x" };
    at_ops_t o, view;
    char tok[AT_TOKEN_MAX + 1];
    at_token_rec_t *rec, *t[4];
    apr_array_header_t *evs;
    int i, j;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    /* Details "owner alice, name x, name foo, ..." for both. */
    t[0] = mk(&o, "alice", "x, name foo", tok);
    t[1] = legacy(1, "alice, name x", "foo");
    t[2] = mk(&o, "alice", "kept", tok);
    t[3] = legacy(2, "alice, name x", "kept");
    ck_assert_int_eq(at_ops_delete(&rec, &o, t[0]->id), APR_SUCCESS);
    ck_assert_int_eq(at_ops_delete(&rec, &o, t[1]->id), APR_SUCCESS);
    for (i = 0; i < 2; i++) {
        at_ops_init(&view, st, "web:tester", NOW, "apt", pool);
        view.owner = owners[i];
        ck_assert_int_eq(at_ops_audit(&evs, &view, NULL), APR_SUCCESS);
        /* create + delete of its deleted token, create of its kept one */
        ck_assert_int_eq(evs->nelts, 3);
        for (j = 0; j < evs->nelts; j++) {
            at_audit_rec_t *ev = APR_ARRAY_IDX(evs, j, at_audit_rec_t *);

            ck_assert_str_eq(ev->owner, owners[i]);
            ck_assert(!strcmp(ev->token_id, t[i]->id)
                      || !strcmp(ev->token_id, t[i + 2]->id));
        }
        /* The other's deleted token is "not found", as a live one is. */
        ck_assert_int_eq(at_ops_audit(&evs, &view, t[1 - i]->id),
                         APR_NOTFOUND);
        ck_assert_int_eq(at_ops_audit(&evs, &view, t[3 - i]->id),
                         APR_NOTFOUND);
        ck_assert_int_eq(at_ops_audit(&evs, &view, t[i]->id), APR_SUCCESS);
        ck_assert_int_eq(evs->nelts, 2);
    }
    /* Without an owner: every event, each with its token's owner. */
    ck_assert_int_eq(at_ops_audit(&evs, &o, NULL), APR_SUCCESS);
    ck_assert_int_eq(evs->nelts, 6);
}
END_TEST

START_TEST(quote)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        { "a'b\n", "'a\\x27b\\x0a'" },
        { "tab\tdel\x7f", "'tab\\x09del\\x7f'" },
        /* C1 controls (U+0080..U+009F) byte by byte, both ends. */
        { "csi\xc2\x9b""31m", "'csi\\xc2\\x9b31m'" },
        { "\xc2\x80\xc2\x9f", "'\\xc2\\x80\\xc2\\x9f'" },
        { "nel\xc2\x85x", "'nel\\xc2\\x85x'" },
        /* The neighbours stay as they are. */
        { "nbsp\xc2\xa0\x7e", "'nbsp\xc2\xa0~'" },
        { "caf\xc3\xa9 \xe2\x80\xa8", "'caf\xc3\xa9 \xe2\x80\xa8'" },
        /* Invalid UTF-8: a lone continuation byte, a truncated pair. */
        { "x\x9by", "'x\\x9by'" },
        { "x\xc2", "'x\\xc2'" },
        { "back\\slash", "'back\\x5cslash'" },
    };
    char big[400], *want;
    const char *got;
    unsigned int i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ck_assert_msg(!strcmp(at_ops_quote(t[i].in, pool), t[i].out),
                      "%u: %s", i, at_ops_quote(t[i].in, pool));
    }
    ck_assert_str_eq(at_ops_quote(NULL, pool), "(none)");
    /* Long values are cut; all-C1 input at the longest escaped length. */
    for (i = 0; i + 1 < sizeof(big); i += 2) {
        big[i] = '\xc2';
        big[i + 1] = '\x9b';
    }
    big[sizeof(big) - 1] = '\0';
    got = at_ops_quote(big, pool);
    want = apr_pstrdup(pool, "'");
    for (i = 0; i < 60; i++) {
        want = apr_pstrcat(pool, want, "\\xc2\\x9b", NULL);
    }
    want = apr_pstrcat(pool, want, "'...", NULL);
    ck_assert_str_eq(got, want);
    big[119] = 'z';
    got = at_ops_quote(big + 1, pool);
    ck_assert_ptr_nonnull(strstr(got, "z"));
    ck_assert_ptr_null(strstr(got, "\xc2\x9b"));
}
END_TEST

/* A token caller's bound: every token it creates, changes or rotates lies
 * within it, checked on the values as written. */
START_TEST(bound)
{
    at_ops_t o;
    at_ops_bound_t b;
    char tok[AT_TOKEN_MAX + 1];
    at_token_rec_t *rec, *full, *wide;
    at_create_req_t req;
    at_scope_change_t ch;
    at_token_edit_t e;
    apr_array_header_t *granted;
    const char *bad;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    full = NULL;
    memset(&req, 0, sizeof(req));
    req.owner = "alice";
    req.name = "full";
    req.full_access = 1;
    ck_assert_int_eq(at_ops_create(&full, tok, &o, &req), APR_SUCCESS);
    wide = mk(&o, "alice", "wide", tok);

    ck_assert_int_eq(at_scopes_parse(&granted, "tokens dns email:read", &bad,
                                     pool), APR_SUCCESS);
    memset(&b, 0, sizeof(b));
    b.scopes = granted;
    b.expires = NOW + 86400;
    b.nets = "127.0.0.0/8 ::1";
    o.bound = &b;

    /* Inherits the expiry and networks; scopes within. */
    memset(&req, 0, sizeof(req));
    req.owner = "alice";
    req.name = "child";
    req.scopes = words("dns:write\temail:read", NULL);
    req.expires = AT_TIME_NONE;
    ck_assert_msg(at_ops_create(&rec, tok, &o, &req) == APR_SUCCESS, "%s",
                  o.error);
    ck_assert_int_eq(rec->expires_at, NOW + 86400);
    ck_assert_str_eq(rec->allowed_nets, "127.0.0.0/8 ::1");
    /* Each way out is refused. */
    req.name = "c2";
    req.scopes = words("dns:x\temail", NULL);
    ck_assert_int_eq(at_ops_create(&rec, tok, &o, &req), APR_EACCES);
    ck_assert_str_eq(tok, "");
    req.scopes = words("dns", NULL);
    req.expires = NOW + 86401;
    ck_assert_int_eq(at_ops_create(&rec, tok, &o, &req), APR_EACCES);
    req.expires = AT_TIME_NONE;
    req.nets = "10.0.0.0/8";
    ck_assert_int_eq(at_ops_create(&rec, tok, &o, &req), APR_EACCES);
    req.nets = "127.1.2.3 ::1";
    ck_assert_msg(at_ops_create(&rec, tok, &o, &req) == APR_SUCCESS, "%s",
                  o.error);
    req.name = "c3";
    req.nets = NULL;
    req.scopes = NULL;
    req.full_access = 1;
    ck_assert_int_eq(at_ops_create(&rec, tok, &o, &req), APR_EACCES);

    /* Nothing beyond the caller may be changed or rotated. */
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, full->id, 0, 0, NULL),
                     APR_EACCES);
    ck_assert_str_eq(tok, "");
    ck_assert_int_eq(at_ops_revoke(&rec, &o, full->id, NULL), APR_EACCES);
    ck_assert_int_eq(at_ops_delete(&rec, &o, wide->id), APR_EACCES);
    ck_assert_int_eq(at_ops_rename(&rec, &o, wide->id, "x"), APR_EACCES);
    /* ... not even to narrow it: the target itself is beyond. */
    ck_assert_int_eq(at_ops_expire(&rec, &o, wide->id, NOW + 60),
                     APR_EACCES);

    /* An edit whose result leaves the bound changes nothing at all. */
    ck_assert_int_eq(at_store_find_by_name(&rec, st, "alice", "child",
                                           pool), APR_SUCCESS);
    memset(&ch, 0, sizeof(ch));
    ch.full = -1;
    ch.add = words("files", NULL);
    memset(&e, 0, sizeof(e));
    e.name = "renamed";
    e.scope = &ch;
    ck_assert_int_eq(at_ops_edit(&rec, &o, rec->id, &e), APR_EACCES);
    ck_assert_int_eq(at_store_find_by_name(&rec, st, "alice", "child",
                                           pool), APR_SUCCESS);
    ck_assert_str_eq(rec->scopes, "dns:write email:read");
    e.scope = NULL;
    e.expires_set = 1;
    e.expires = AT_TIME_NONE;
    ck_assert_int_eq(at_ops_edit(&rec, &o, rec->id, &e), APR_EACCES);
    e.expires = NOW + 3600;
    ck_assert_msg(at_ops_edit(&rec, &o, rec->id, &e) == APR_SUCCESS, "%s",
                  o.error);
    ck_assert_str_eq(rec->name, "renamed");
    ck_assert_int_eq(rec->expires_at, NOW + 3600);
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, rec->id, 0, 0, NULL),
                     APR_SUCCESS);

    /* Without a bound (the tool, a password caller) the account rules. */
    o.bound = NULL;
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, full->id, 0, 0, NULL),
                     APR_SUCCESS);
}
END_TEST

START_TEST(one_rule_each)
{
    at_ops_t o;
    char tok[AT_TOKEN_MAX + 1];
    at_token_rec_t *a, *rec;
    at_scope_change_t ch;
    int ended = 0;

    at_ops_init(&o, st, "web:tester", NOW, "apt", pool);
    a = mk(&o, "alice", "one", tok);
    memset(&ch, 0, sizeof(ch));
    ch.full = 1;
    ch.set = words("dns", NULL);
    ck_assert_int_eq(at_ops_scope(&rec, &o, a->id, &ch), APR_EINVAL);
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, a->id, AT_GRACE_MAX + 1, 0,
                                   NULL),
                     APR_EINVAL);
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, a->id, AT_GRACE_MAX, 0,
                                   NULL), APR_SUCCESS);
    /* Again within the grace: that would end the previous secret now. */
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, a->id, 60, 0, &ended),
                     APR_EBUSY);
    ck_assert_ptr_nonnull(strstr(o.error, "force"));
    ck_assert_int_eq(at_ops_rotate(&rec, tok, &o, a->id, 60, 1, &ended),
                     APR_SUCCESS);
    ck_assert_int_eq(ended, 1);
    ck_assert_int_eq(rec->prev_until, NOW + 60);
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("sqlite");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_and_verify);
    tcase_add_test(tc, create_refusals);
    tcase_add_test(tc, owner_isolation);
    tcase_add_test(tc, lifecycle);
    tcase_add_test(tc, audit_prefix_owner);
    tcase_add_test(tc, quote);
    tcase_add_test(tc, bound);
    tcase_add_test(tc, one_rule_each);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    sr = srunner_create(ops_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
