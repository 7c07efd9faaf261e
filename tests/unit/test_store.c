/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The token store: validators, status, and the libdbi backend.
 *
 * By default every test runs against a SQLite file in a fresh temporary
 * directory.  With AT_TEST_DBURL set (e.g. pgsql://u:pw@127.0.0.1:5433/db
 * or mysql://root:pw@127.0.0.1:3307/db) the same backend tests run against
 * that server; the apitoken_* tables in it are dropped before each test. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "at_store.h"
#include "at_store_dbi.h"
#include "at_sql.h"
#include "at_token.h"

static apr_pool_t *pool;
static dbi_inst inst;
static at_store_t *st;
static char tmpdir[64];
static const at_dburl_t *url;

static int is_sqlite(void)
{
    return url->kind == AT_DB_SQLITE3;
}

/* Drop our tables on a server so each test starts empty.  Test-only SQL
 * on a raw connection; the store itself never offers DROP. */
static void drop_server_tables(void)
{
    static const char *const drops[] = {
        "DROP TABLE IF EXISTS apitoken_scope_usage",
        "DROP TABLE IF EXISTS apitoken_audit",
        "DROP TABLE IF EXISTS apitoken_tokens",
        "DROP TABLE IF EXISTS apitoken_meta",
        NULL
    };
    dbi_conn c = dbi_conn_new_r(url->driver, inst);
    int i;

    ck_assert_ptr_nonnull(c);
    if (url->host) {
        dbi_conn_set_option(c, "host", url->host);
    }
    if (url->port) {
        dbi_conn_set_option_numeric(c, "port", url->port);
    }
    if (url->user) {
        dbi_conn_set_option(c, "username", url->user);
    }
    if (url->password) {
        dbi_conn_set_option(c, "password", url->password);
    }
    dbi_conn_set_option(c, "dbname", url->dbname);
    ck_assert_msg(dbi_conn_connect(c) == 0, "cannot connect to %s",
                  url->redacted);
    if (url->kind == AT_DB_PGSQL) {
        dbi_result_free(dbi_conn_queryf(c, "SET client_min_messages ="
                                        " warning"));
    }
    for (i = 0; drops[i]; i++) {
        dbi_result r = dbi_conn_queryf(c, "%s", drops[i]);
        ck_assert_ptr_nonnull(r);
        dbi_result_free(r);
    }
    dbi_conn_close(c);
}

static void setup(void)
{
    const char *env = getenv("AT_TEST_DBURL");
    const char *err = NULL;
    at_dburl_t *u;

    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(at_dbi_init(&inst, NULL, &err), APR_SUCCESS);
    if (env && *env) {
        ck_assert_msg(at_dburl_parse(&u, env, &err, pool) == APR_SUCCESS,
                      "AT_TEST_DBURL: %s", err);
        url = u;
        if (!is_sqlite()) {
            drop_server_tables();
        }
    }
    else {
        strcpy(tmpdir, "/tmp/at_store_XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        ck_assert_int_eq(at_dburl_parse(&u, apr_pstrcat(pool, "sqlite3://",
                                        tmpdir, "/tokens.db", NULL),
                                        &err, pool), APR_SUCCESS);
        url = u;
    }
    err = NULL;
    ck_assert_msg(at_store_dbi_open(&st, inst, url, AT_STORE_CREATE, &err,
                                    pool) == APR_SUCCESS, "open: %s", err);
}

static void teardown(void)
{
    if (st) {
        at_store_close(st);
        st = NULL;
    }
    if (tmpdir[0]) {
        /* Only what SQLite can have made in our own directory. */
        const char *sfx[] = { "", "-wal", "-shm", "-journal", NULL };
        int i;
        for (i = 0; sfx[i]; i++) {
            unlink(apr_pstrcat(pool, tmpdir, "/tokens.db", sfx[i], NULL));
        }
        rmdir(tmpdir);
        tmpdir[0] = '\0';
    }
    dbi_shutdown_r(inst);
    apr_pool_destroy(pool);
}

/* A well-formed record: id from n, digest of repeated hex digit. */
static at_token_rec_t *mkrec(int n, const char *owner, const char *name)
{
    at_token_rec_t *r = apr_pcalloc(pool, sizeof(*r));
    char dig[AT_DIGEST_HEX_LEN + 1];

    memset(dig, "0123456789abcdef"[n % 16], AT_DIGEST_HEX_LEN);
    dig[AT_DIGEST_HEX_LEN] = '\0';
    r->id = apr_psprintf(pool, "Id%010d", n);
    r->owner = owner;
    r->name = name;
    r->digest = apr_pstrdup(pool, dig);
    r->scopes = "dns email:read";
    r->full_access = 0;
    r->created_at = 1700000000 + n;
    r->expires_at = AT_TIME_NONE;
    r->revoked_at = AT_TIME_NONE;
    r->last_used_at = AT_TIME_NONE;
    r->last_used_addr = "";
    r->allowed_nets = "";
    r->description = "";
    r->prev_digest = "";
    r->prev_until = AT_TIME_NONE;
    return r;
}

static void init_ok(void)
{
    ck_assert_msg(at_store_init_schema(st, "apt") == APR_SUCCESS, "init: %s",
                  at_store_error(st));
}

static void insert_ok(const at_token_rec_t *r)
{
    ck_assert_msg(at_store_insert(st, r) == APR_SUCCESS, "insert %s: %s",
                  r->id, at_store_error(st));
}

static void assert_same(const at_token_rec_t *a, const at_token_rec_t *b)
{
    ck_assert_str_eq(a->id, b->id);
    ck_assert_str_eq(a->owner, b->owner);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->digest, b->digest);
    ck_assert_str_eq(a->scopes, b->scopes);
    ck_assert_int_eq(a->full_access, b->full_access);
    ck_assert_int_eq(a->created_at, b->created_at);
    ck_assert_int_eq(a->expires_at, b->expires_at);
    ck_assert_int_eq(a->revoked_at, b->revoked_at);
    ck_assert_int_eq(a->last_used_at, b->last_used_at);
    ck_assert_str_eq(a->last_used_addr, b->last_used_addr);
    ck_assert_str_eq(a->allowed_nets, b->allowed_nets);
    ck_assert_str_eq(a->description, b->description);
    ck_assert_str_eq(a->prev_digest, b->prev_digest);
    ck_assert_int_eq(a->prev_until, b->prev_until);
}

START_TEST(schema_init_meta)
{
    const char *prefix = NULL;
    int version = -1;
    apr_int64_t seq = -1;

    ck_assert_int_eq(at_store_get_meta(st, &prefix, &version, &seq, pool),
                     APR_NOTFOUND);
    init_ok();
    init_ok();   /* idempotent */
    ck_assert_int_eq(at_store_init_schema(st, "other"), APR_SUCCESS);
    ck_assert_int_eq(at_store_get_meta(st, &prefix, &version, &seq, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(prefix, "apt");   /* stored only on creation */
    ck_assert_int_eq(version, AT_SCHEMA_VERSION);
    ck_assert_int_eq(seq, 0);
    ck_assert_int_eq(at_store_init_schema(st, "Bad Prefix"), APR_EINVAL);
    ck_assert_int_eq(at_store_ping(st), APR_SUCCESS);
}
END_TEST

START_TEST(insert_lookup_find)
{
    at_token_rec_t *r = mkrec(1, "alice", "deploy"), *got;

    init_ok();
    r->full_access = 1;
    r->scopes = "";
    r->expires_at = 1900000000;
    r->revoked_at = 1800000000;
    r->last_used_at = 1750000000;
    r->last_used_addr = "2001:db8::1";
    r->allowed_nets = "10.0.0.0/8,  192.0.2.1 2001:db8::/32";
    r->description = "CI deploy key";
    r->prev_digest = mkrec(2, "x", "y")->digest;
    r->prev_until = 1760000000;
    insert_ok(r);

    ck_assert_int_eq(at_store_lookup(&got, st, r->id, pool), APR_SUCCESS);
    r->allowed_nets = "10.0.0.0/8 192.0.2.1 2001:db8::/32";  /* normalised */
    assert_same(r, got);
    ck_assert_int_eq(at_store_find_by_name(&got, st, "alice", "deploy",
                                           pool), APR_SUCCESS);
    assert_same(r, got);

    ck_assert_int_eq(at_store_lookup(&got, st, "Id9999999999", pool),
                     APR_NOTFOUND);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(at_store_lookup(&got, st, "id0000000001", pool),
                     APR_NOTFOUND);   /* ids are case-sensitive */
    ck_assert_int_eq(at_store_lookup(&got, st, "' OR 1=1 --", pool),
                     APR_NOTFOUND);
    ck_assert_int_eq(at_store_find_by_name(&got, st, "alice", "DEPLOY",
                                           pool), APR_NOTFOUND);
    ck_assert_int_eq(at_store_find_by_name(&got, st, "bob", "deploy", pool),
                     APR_NOTFOUND);
}
END_TEST

START_TEST(duplicates)
{
    at_token_rec_t *got;
    apr_array_header_t *all;

    init_ok();
    insert_ok(mkrec(1, "alice", "deploy"));
    ck_assert_int_eq(at_store_insert(st, mkrec(1, "bob", "other")),
                     APR_EEXIST);
    ck_assert_int_eq(at_store_insert(st, mkrec(2, "alice", "deploy")),
                     APR_EEXIST);
    /* Same name for another owner is fine. */
    insert_ok(mkrec(3, "bob", "deploy"));

    /* Inside a transaction the clash is reported and the transaction stays
     * usable (PostgreSQL would abort it without a savepoint). */
    ck_assert_int_eq(at_store_begin(st, 1), APR_SUCCESS);
    insert_ok(mkrec(4, "carol", "a"));
    ck_assert_int_eq(at_store_insert(st, mkrec(5, "carol", "a")),
                     APR_EEXIST);
    ck_assert_int_eq(at_store_insert(st, mkrec(4, "carol", "b")),
                     APR_EEXIST);
    insert_ok(mkrec(6, "carol", "b"));
    ck_assert_msg(at_store_commit(st) == APR_SUCCESS, "commit: %s",
                  at_store_error(st));
    ck_assert_int_eq(at_store_lookup(&got, st, mkrec(4, "", "")->id, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_lookup(&got, st, mkrec(6, "", "")->id, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_list(&all, st, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(all->nelts, 4);
}
END_TEST

START_TEST(update_remove)
{
    at_token_rec_t *r = mkrec(1, "alice", "deploy"), *got;

    init_ok();
    insert_ok(r);
    insert_ok(mkrec(2, "alice", "backup"));
    r->name = "deploy-2";
    r->scopes = "files";
    r->full_access = 1;
    r->expires_at = 1999999999;
    r->revoked_at = 1888888888;
    r->description = "renamed";
    r->allowed_nets = "::1";
    ck_assert_msg(at_store_update(st, r) == APR_SUCCESS, "update: %s",
                  at_store_error(st));
    ck_assert_int_eq(at_store_lookup(&got, st, r->id, pool), APR_SUCCESS);
    assert_same(r, got);
    /* Unchanged values are still an update of an existing row. */
    ck_assert_int_eq(at_store_update(st, r), APR_SUCCESS);

    r->name = "backup";
    ck_assert_int_eq(at_store_update(st, r), APR_EEXIST);
    ck_assert_int_eq(at_store_update(st, mkrec(9, "alice", "x")),
                     APR_NOTFOUND);

    ck_assert_int_eq(at_store_remove(st, r->id), APR_SUCCESS);
    ck_assert_int_eq(at_store_remove(st, r->id), APR_NOTFOUND);
    ck_assert_int_eq(at_store_remove(st, "Id9999999999"), APR_NOTFOUND);
    ck_assert_int_eq(at_store_remove(st, "bad id"), APR_NOTFOUND);
    ck_assert_int_eq(at_store_lookup(&got, st, r->id, pool), APR_NOTFOUND);
}
END_TEST

START_TEST(list_order_filter)
{
    apr_array_header_t *a;
    const char *want[][2] = {
        { "Bob", "z" }, { "alice", "B" }, { "alice", "a" }, { "alice", "b" },
        { "bob", "a" },
    };
    int i;

    init_ok();
    /* Inserted in reverse; listed in byte order of owner, then name. */
    for (i = 4; i >= 0; i--) {
        insert_ok(mkrec(i + 1, want[i][0], want[i][1]));
    }
    ck_assert_int_eq(at_store_list(&a, st, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 5);
    for (i = 0; i < 5; i++) {
        at_token_rec_t *r = APR_ARRAY_IDX(a, i, at_token_rec_t *);
        ck_assert_str_eq(r->owner, want[i][0]);
        ck_assert_str_eq(r->name, want[i][1]);
    }
    ck_assert_int_eq(at_store_list(&a, st, "alice", pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, at_token_rec_t *)->name, "B");
    ck_assert_int_eq(at_store_list(&a, st, "nobody", pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
    ck_assert_int_eq(at_store_list(&a, st, "x:y", pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
}
END_TEST

START_TEST(audit)
{
    at_audit_rec_t ev = { 0, 1700000000, "create", "Id0000000001", "root",
                          "name=deploy", "" };
    apr_array_header_t *a;
    at_audit_rec_t *e0, *e1;
    char big[2000];

    init_ok();
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ev.action = "revoke";
    ev.at = 1700000100;
    ev.detail = "";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ev.action = "init";
    ev.token_id = "";
    ev.detail = "prefix 'apt'; \"quoted\" \\ %s";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);

    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 3);
    e0 = APR_ARRAY_IDX(a, 0, at_audit_rec_t *);
    e1 = APR_ARRAY_IDX(a, 1, at_audit_rec_t *);
    ck_assert_str_eq(e0->action, "create");
    ck_assert_str_eq(e0->token_id, "Id0000000001");
    ck_assert_str_eq(e0->actor, "root");
    ck_assert_str_eq(e0->detail, "name=deploy");
    ck_assert_int_eq(e0->at, 1700000000);
    ck_assert_str_eq(e1->action, "revoke");
    ck_assert(e1->seq > e0->seq);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 2, at_audit_rec_t *)->detail,
                     "prefix 'apt'; \"quoted\" \\ %s");

    ck_assert_int_eq(at_store_audit_list(&a, st, "Id0000000001", NULL,
                                         pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_int_eq(at_store_audit_list(&a, st, "Id0000000002", NULL,
                                         pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);

    ev.action = "Bad Action";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_EINVAL);
    ev.action = "note";
    ev.detail = "a\nb";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_EINVAL);
    /* An over-long detail is cut, not refused. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ev.detail = big;
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(strlen(APR_ARRAY_IDX(a, a->nelts - 1,
                                          at_audit_rec_t *)->detail),
                     AT_DESCRIPTION_MAX);
}
END_TEST

/* One limit: every owner the store accepts, with the "web:" tag of the
 * management API, is an actor it accepts. */
START_TEST(audit_actor_limit)
{
    at_audit_rec_t ev = { 0, 1700000000, "create", "Id0000000001", "", "",
                          "" };
    apr_array_header_t *a;
    char owner[AT_NAME_MAX + 1], actor[AT_ACTOR_MAX + 2];
    unsigned int i;

    init_ok();
    /* 64 two-byte characters: 128 bytes, the most an owner may have. */
    for (i = 0; i < AT_NAME_MAX; i += 2) {
        owner[i] = '\xc3';
        owner[i + 1] = '\xa9';
    }
    owner[AT_NAME_MAX] = '\0';
    ck_assert_ptr_null(at_check_owner(owner));
    ev.owner = owner;
    ev.actor = apr_pstrcat(pool, "web:", owner, NULL);
    ck_assert_ptr_null(at_check_actor(ev.actor));
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    memset(actor, 'a', AT_ACTOR_MAX);
    actor[AT_ACTOR_MAX] = '\0';
    ev.actor = actor;
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, owner, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, at_audit_rec_t *)->actor,
                     apr_pstrcat(pool, "web:", owner, NULL));
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, at_audit_rec_t *)->actor, actor);
    actor[AT_ACTOR_MAX] = 'a';
    actor[AT_ACTOR_MAX + 1] = '\0';
    ck_assert_ptr_nonnull(at_check_actor(actor));
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_EINVAL);
    ck_assert_ptr_nonnull(at_check_actor("web:\xc2\x9b"));
    ck_assert_ptr_nonnull(at_check_actor(""));
}
END_TEST

/* The owner column: exact match in SQL, so a name that starts with
 * another's (owners may contain ", name ") matches only itself. */
START_TEST(audit_owner)
{
    static const char *const owners[] = { "alice", "alice, name x",
                                          "alice, name", "", "ALICE" };
    at_audit_rec_t ev = { 0, 1700000000, "create", "Id0000000001", "root",
                          "", NULL };
    apr_array_header_t *a;
    unsigned int i;
    int j;

    init_ok();
    for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        ev.owner = owners[i];
        ev.detail = apr_psprintf(pool, "owner %s, name n", owners[i]);
        ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    }
    ev.owner = NULL;            /* NULL is stored as "" */
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 6);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, at_audit_rec_t *)->owner,
                     "alice, name x");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 5, at_audit_rec_t *)->owner, "");
    for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        if (!*owners[i]) {
            continue;
        }
        ck_assert_int_eq(at_store_audit_list(&a, st, NULL, owners[i], pool),
                         APR_SUCCESS);
        ck_assert_int_eq(a->nelts, 1);
        for (j = 0; j < a->nelts; j++) {
            ck_assert_str_eq(APR_ARRAY_IDX(a, j, at_audit_rec_t *)->owner,
                             owners[i]);
        }
    }
    ck_assert_int_eq(at_store_audit_list(&a, st, "Id0000000001", "alice",
                                         pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 1);
    ck_assert_int_eq(at_store_audit_list(&a, st, "Id0000000002", "alice",
                                         pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
    /* Owners that could not be stored match nothing. */
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, "", pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, "a:b", pool),
                     APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
    ev.owner = "bad\x01owner";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_EINVAL);
    ev.owner = "alice";
    ev.owner = "x:y";
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_EINVAL);
}
END_TEST

START_TEST(touch_and_change)
{
    at_token_rec_t *r = mkrec(1, "alice", "deploy"), *got;
    apr_int64_t seq = -1;
    int i;

    init_ok();
    insert_ok(r);
    ck_assert_int_eq(at_store_touch(st, r->id, 1750000000, "192.0.2.7"),
                     APR_SUCCESS);
    /* Same values again (MySQL reports 0 changed rows without care). */
    ck_assert_int_eq(at_store_touch(st, r->id, 1750000000, "192.0.2.7"),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_lookup(&got, st, r->id, pool), APR_SUCCESS);
    ck_assert_int_eq(got->last_used_at, 1750000000);
    ck_assert_str_eq(got->last_used_addr, "192.0.2.7");
    ck_assert_int_eq(at_store_touch(st, "Id9999999999", 1, "::1"),
                     APR_NOTFOUND);
    ck_assert_int_eq(at_store_touch(st, r->id, 1, "1.2.3.4'--"),
                     APR_EINVAL);

    for (i = 1; i <= 3; i++) {
        ck_assert_int_eq(at_store_begin(st, 1), APR_SUCCESS);
        ck_assert_int_eq(at_store_bump_change(st), APR_SUCCESS);
        ck_assert_int_eq(at_store_commit(st), APR_SUCCESS);
        ck_assert_int_eq(at_store_get_meta(st, NULL, NULL, &seq, pool),
                         APR_SUCCESS);
        ck_assert_int_eq(seq, i);
    }
}
END_TEST

START_TEST(scope_usage)
{
    at_token_rec_t *a = mkrec(1, "alice", "deploy");
    at_token_rec_t *b = mkrec(2, "alice", "backup");
    apr_array_header_t *rows;
    at_scope_usage_t *u;

    init_ok();
    insert_ok(a);
    insert_ok(b);
    ck_assert_int_eq(at_store_scope_usage_list(&rows, st, a->id, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(rows->nelts, 0);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "email:read", 100),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns", 200),
                     APR_SUCCESS);
    /* Again, same and older times: one row, the newest time kept. */
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns", 200),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns", 150),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns", 300),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_touch(st, b->id, "dns", 400),
                     APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_touch(st, "Id9999999999", "dns", 1),
                     APR_NOTFOUND);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns'--", 1),
                     APR_EINVAL);
    ck_assert_int_eq(at_store_scope_usage_list(&rows, st, a->id, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(rows->nelts, 2);
    u = APR_ARRAY_IDX(rows, 0, at_scope_usage_t *);
    ck_assert_str_eq(u->scope, "dns");
    ck_assert_int_eq(u->last_used_at, 300);
    u = APR_ARRAY_IDX(rows, 1, at_scope_usage_t *);
    ck_assert_str_eq(u->scope, "email:read");
    ck_assert_int_eq(u->last_used_at, 100);
    ck_assert_str_eq(u->token_id, a->id);
    ck_assert_int_eq(at_store_scope_usage_list(&rows, st, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(rows->nelts, 3);

    /* Deleting a token deletes its usage rows, and only its. */
    ck_assert_int_eq(at_store_remove(st, a->id), APR_SUCCESS);
    ck_assert_int_eq(at_store_scope_usage_list(&rows, st, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(rows->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(rows, 0, at_scope_usage_t *)->token_id,
                     b->id);
    ck_assert_int_eq(at_store_scope_touch(st, a->id, "dns", 500),
                     APR_NOTFOUND);
}
END_TEST

START_TEST(rollback_leaves_nothing)
{
    at_token_rec_t *got;
    apr_array_header_t *a;
    at_audit_rec_t ev = { 0, 1, "create", "Id0000000001", "root", "", "" };
    apr_int64_t seq = -1;

    init_ok();
    ck_assert_int_eq(at_store_begin(st, 1), APR_SUCCESS);
    insert_ok(mkrec(1, "alice", "deploy"));
    ck_assert_int_eq(at_store_audit_add(st, &ev), APR_SUCCESS);
    ck_assert_int_eq(at_store_bump_change(st), APR_SUCCESS);
    ck_assert_int_eq(at_store_rollback(st), APR_SUCCESS);

    ck_assert_int_eq(at_store_lookup(&got, st, "Id0000000001", pool),
                     APR_NOTFOUND);
    ck_assert_int_eq(at_store_audit_list(&a, st, NULL, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
    ck_assert_int_eq(at_store_get_meta(st, NULL, NULL, &seq, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(seq, 0);
    /* Nested begin is refused; commit without begin too. */
    ck_assert_int_eq(at_store_begin(st, 0), APR_SUCCESS);
    ck_assert_int_eq(at_store_begin(st, 0), APR_EGENERAL);
    ck_assert_int_eq(at_store_commit(st), APR_SUCCESS);
    ck_assert_int_eq(at_store_commit(st), APR_EGENERAL);
}
END_TEST

/* Hostile text stored and read back byte for byte. */
static const char *const hostile[] = {
    "it's",
    "say \"hi\"",
    "back\\slash\\",
    "'; DROP TABLE apitoken_tokens; --",
    "\"); DELETE FROM apitoken_meta; --",
    "%s %n %d %%",
    "Robert'); DROP TABLE apitoken_audit;--",
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",          /* café 日本 */
    "rocket \xf0\x9f\x9a\x80 done",                  /* 4-byte emoji */
    "\xf0\x9f\x94\x91\xf0\x9f\x94\x92",              /* two emoji */
    "tab-free but  double  spaced ",
    "\\x00 \\' \\\" \\n",
};

START_TEST(hostile_text_roundtrip)
{
    at_token_rec_t *r, *got;
    apr_array_header_t *a;
    int i, n = (int)(sizeof(hostile) / sizeof(hostile[0]));
    const char *owner;

    init_ok();
    for (i = 0; i < n; i++) {
        owner = i % 2 ? "owner \xf0\x9f\x98\x80" : "o'neil";
        r = mkrec(i + 1, owner, hostile[i]);
        r->description = hostile[(i + 3) % n];
        insert_ok(r);
        ck_assert_int_eq(at_store_lookup(&got, st, r->id, pool),
                         APR_SUCCESS);
        assert_same(r, got);
        ck_assert_int_eq(at_store_find_by_name(&got, st, owner, hostile[i],
                                               pool), APR_SUCCESS);
        ck_assert_str_eq(got->id, r->id);
    }
    ck_assert_int_eq(at_store_list(&a, st, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, n);
    ck_assert_int_eq(at_store_list(&a, st, "o'neil", pool), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, (n + 1) / 2);
    /* The schema is intact after all that. */
    ck_assert_int_eq(at_store_get_meta(st, NULL, NULL, NULL, pool),
                     APR_SUCCESS);
    /* Invalid text never reaches SQL. */
    r = mkrec(99, "alice", "bad\x01");
    ck_assert_int_eq(at_store_insert(st, r), APR_EINVAL);
    r = mkrec(99, "ali:ce", "ok");
    ck_assert_int_eq(at_store_insert(st, r), APR_EINVAL);
    r = mkrec(99, "alice", "ok");
    r->digest = "'; DROP TABLE apitoken_tokens; --";
    ck_assert_int_eq(at_store_insert(st, r), APR_EINVAL);
    r = mkrec(99, "alice", "ok");
    r->id = "Id000000'--";
    ck_assert_int_eq(at_store_insert(st, r), APR_EINVAL);
    r = mkrec(99, "alice", "ok");
    r->scopes = "dns'; --";
    ck_assert_int_eq(at_store_insert(st, r), APR_EINVAL);
}
END_TEST

/* The one way statements are built: text quoted by the driver, numbers
 * as numbers, and the count of '?' checked against the arguments. */
START_TEST(typed_statements)
{
    const char *evil = "x'); DROP TABLE apitoken_tokens; --?";
    dbi_result r;

    init_ok();
    r = at_sql(st, "SELECT ? AS t, ? AS n", AT_SQL_ARGS(AT_SQL_T(evil),
                                                     AT_SQL_N(-42)));
    ck_assert_ptr_nonnull(r);
    ck_assert(dbi_result_next_row(r));
    ck_assert_str_eq(dbi_result_get_string(r, "t"), evil);
    ck_assert_int_eq(dbi_result_get_as_longlong(r, "n"), -42);
    dbi_result_free(r);
    /* Too few and too many arguments: no statement runs. */
    ck_assert_ptr_null(at_sql(st, "SELECT ?, ?",
                              AT_SQL_ARGS(AT_SQL_T("a"))));
    ck_assert_str_eq(at_store_error(st), "cannot build a statement");
    ck_assert_ptr_null(at_sql(st, "SELECT ?",
                              AT_SQL_ARGS(AT_SQL_T("a"), AT_SQL_T("b"))));
    ck_assert_ptr_null(at_sql(st, "SELECT ?", AT_SQL_NONE));
    r = at_sql(st, "SELECT 1 AS one", AT_SQL_NONE);
    ck_assert_ptr_nonnull(r);
    dbi_result_free(r);
    /* The table is still there. */
    ck_assert_int_eq(at_store_ping(st), APR_SUCCESS);
    ck_assert_int_eq(at_store_get_meta(st, NULL, NULL, NULL, pool),
                     APR_SUCCESS);
}
END_TEST

START_TEST(sqlite_missing_file)
{
    at_dburl_t *u;
    at_store_t *s2 = NULL;
    const char *err = NULL;
    const char *path;
    struct stat sb;

    if (!is_sqlite()) {
        return;   /* a SQLite-only property; the server run has no file */
    }
    path = apr_pstrcat(pool, url->sqlite_dir, "/missing.db", NULL);
    ck_assert_int_eq(at_dburl_parse(&u, apr_pstrcat(pool, "sqlite3://",
                                    path, NULL), &err, pool), APR_SUCCESS);
    ck_assert_int_eq(at_store_dbi_open(&s2, inst, u, 0, &err, pool),
                     APR_EGENERAL);
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(err, "does not exist"));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(stat(path, &sb), -1);

    ck_assert_int_eq(at_dburl_parse(&u, "sqlite3:///nonexistent-dir-at/t.db",
                                    &err, pool), APR_SUCCESS);
    ck_assert_int_eq(at_store_dbi_open(&s2, inst, u, AT_STORE_CREATE, &err,
                                       pool), APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir-at"));

    /* The test store itself is in WAL mode. */
    ck_assert_int_eq(at_store_init_schema(st, NULL), APR_SUCCESS);
    ck_assert_int_eq(stat(apr_pstrcat(pool, url->path, "-wal", NULL), &sb),
                     0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pure functions                                                       */

START_TEST(status)
{
    at_token_rec_t r;

    memset(&r, 0, sizeof(r));
    ck_assert_str_eq(at_token_rec_status(&r, 1000), "active");
    r.expires_at = 2000;
    ck_assert_str_eq(at_token_rec_status(&r, 1999), "active");
    ck_assert_str_eq(at_token_rec_status(&r, 2000), "expired");
    r.revoked_at = 1500;
    ck_assert_str_eq(at_token_rec_status(&r, 1499), "active");
    ck_assert_str_eq(at_token_rec_status(&r, 1500), "revoked");
    ck_assert_str_eq(at_token_rec_status(&r, 3000), "revoked");
    r.expires_at = 0;
    ck_assert_str_eq(at_token_rec_status(&r, 3000), "revoked");
}
END_TEST

static const struct { const char *s; int owner_ok, name_ok, desc_ok; }
text_cases[] = {
    { "alice", 1, 1, 1 },
    { "a", 1, 1, 1 },
    { "", 0, 0, 1 },
    { "user:name", 0, 1, 1 },
    { "with space", 0, 1, 1 },               /* no credential carries it */
    { "o'neil \"x\" \\ %s", 0, 1, 1 },
    { "o'neil\"x\"\\%s;--", 1, 1, 1 },
    { "caf\xc3\xa9", 1, 1, 1 },
    { "\xf0\x9f\x9a\x80", 1, 1, 1 },
    { "tab\there", 0, 0, 0 },
    { "new\nline", 0, 0, 0 },
    { "cr\r", 0, 0, 0 },
    { "esc\x1b[31m", 0, 0, 0 },
    { "del\x7f", 0, 0, 0 },
    { "c1 \xc2\x9b", 0, 0, 0 },               /* U+009B CSI */
    { "bad \xff", 0, 0, 0 },
    { "trunc \xe6\x97", 0, 0, 0 },
    { "overlong \xc0\xaf", 0, 0, 0 },
    { "overlong \xe0\x80\xaf", 0, 0, 0 },
    { "surrogate \xed\xa0\x80", 0, 0, 0 },
    { "too big \xf4\x90\x80\x80", 0, 0, 0 },
    { "lone cont \x80", 0, 0, 0 },
};

START_TEST(text_validators)
{
    size_t i;
    char buf[AT_DESCRIPTION_MAX + 2];

    for (i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
        ck_assert_msg((at_check_owner(text_cases[i].s) == NULL)
                      == text_cases[i].owner_ok, "owner case %zu", i);
        ck_assert_msg((at_check_name(text_cases[i].s) == NULL)
                      == text_cases[i].name_ok, "name case %zu", i);
        ck_assert_msg((at_check_description(text_cases[i].s) == NULL)
                      == text_cases[i].desc_ok, "description case %zu", i);
    }
    ck_assert_ptr_null(at_check_description(NULL));
    ck_assert_ptr_nonnull(at_check_name(NULL));
    /* Rows of earlier versions stay writable (revoke, rotate). */
    ck_assert_ptr_null(at_check_stored_owner("with space"));
    ck_assert_ptr_nonnull(at_check_stored_owner("user:name"));
    ck_assert_ptr_null(at_check_stored_nets("10.1.2.3/8", pool));
    ck_assert_ptr_nonnull(at_check_stored_nets("10.1.2.3/33", pool));
    memset(buf, 'n', AT_NAME_MAX);
    buf[AT_NAME_MAX] = '\0';
    ck_assert_ptr_null(at_check_name(buf));
    ck_assert_ptr_null(at_check_owner(buf));
    buf[AT_NAME_MAX] = 'n';
    buf[AT_NAME_MAX + 1] = '\0';
    ck_assert_ptr_nonnull(at_check_name(buf));
    ck_assert_ptr_nonnull(at_check_owner(buf));
    memset(buf, 'd', AT_DESCRIPTION_MAX);
    buf[AT_DESCRIPTION_MAX] = '\0';
    ck_assert_ptr_null(at_check_description(buf));
    buf[AT_DESCRIPTION_MAX] = 'd';
    buf[AT_DESCRIPTION_MAX + 1] = '\0';
    ck_assert_ptr_nonnull(at_check_description(buf));
}
END_TEST

static const struct { const char *in; const char *norm; } net_cases[] = {
    { "", "" },
    { "   ", "" },
    { "127.0.0.1", "127.0.0.1" },
    { "10.0.0.0/8", "10.0.0.0/8" },
    { "10.0.0.0/8,192.168.1.0/24", "10.0.0.0/8 192.168.1.0/24" },
    { " ::1 , 2001:db8::/32 ", "::1 2001:db8::/32" },
    { "0.0.0.0/0", NULL },
    { "::/0", NULL },
    { "192.0.2.1/32", "192.0.2.1/32" },
    { "2001:db8::1/128", "2001:db8::1/128" },
    { "10.1", NULL },
    { "10.0.0.0/33", NULL },
    { "2001:db8::/129", NULL },
    { "10.0.0.0/", NULL },
    { "10.0.0.0/-1", NULL },
    { "10.0.0.0/8/8", NULL },
    { "10.0.0.0/255.0.0.0", NULL },
    { "256.1.1.1", NULL },
    { "example.com", NULL },
    { "1.2.3.4; DROP TABLE x", NULL },
    { "1.2.3.4'", NULL },
    { "::1%eth0", NULL },
};

START_TEST(net_validator)
{
    size_t i;
    const char *norm, *why;

    for (i = 0; i < sizeof(net_cases) / sizeof(net_cases[0]); i++) {
        norm = "unset";
        why = at_check_nets(&norm, net_cases[i].in, pool);
        if (net_cases[i].norm) {
            ck_assert_msg(why == NULL, "nets case %zu: %s", i, why);
            ck_assert_str_eq(norm, net_cases[i].norm);
        }
        else {
            ck_assert_msg(why != NULL, "nets case %zu accepted", i);
        }
    }
}
END_TEST

static void pure_setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void pure_teardown(void)
{
    apr_pool_destroy(pool);
}

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("dbi");
    TCase *pure = tcase_create("pure");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, schema_init_meta);
    tcase_add_test(tc, insert_lookup_find);
    tcase_add_test(tc, duplicates);
    tcase_add_test(tc, update_remove);
    tcase_add_test(tc, list_order_filter);
    tcase_add_test(tc, audit);
    tcase_add_test(tc, audit_owner);
    tcase_add_test(tc, audit_actor_limit);
    tcase_add_test(tc, touch_and_change);
    tcase_add_test(tc, scope_usage);
    tcase_add_test(tc, rollback_leaves_nothing);
    tcase_add_test(tc, hostile_text_roundtrip);
    tcase_add_test(tc, typed_statements);
    tcase_add_test(tc, sqlite_missing_file);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(pure, pure_setup, pure_teardown);
    tcase_add_test(pure, status);
    tcase_add_test(pure, text_validators);
    tcase_add_test(pure, net_validator);
    suite_add_tcase(s, pure);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
