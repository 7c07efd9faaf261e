/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_dburl.c: every valid form, every error, password files
 * and redaction. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "unit.h"
#include "at_dburl.h"

START_TEST(sqlite_forms)
{
    at_dburl_t *u;
    const char *err;

    ck_assert_int_eq(at_dburl_parse(&u, "sqlite3:///var/lib/apitoken/tokens.db",
                                    &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->kind, AT_DB_SQLITE3);
    ck_assert_str_eq(u->driver, "sqlite3");
    ck_assert_str_eq(u->path, "/var/lib/apitoken/tokens.db");
    ck_assert_str_eq(u->sqlite_dir, "/var/lib/apitoken");
    ck_assert_str_eq(u->dbname, "tokens.db");
    ck_assert_int_eq(u->timeout_ms, 5000);
    ck_assert_ptr_null(u->host);
    ck_assert_ptr_null(u->user);
    ck_assert_ptr_null(u->password);
    ck_assert_int_eq(u->port, 0);
    ck_assert_str_eq(u->redacted, "sqlite3:///var/lib/apitoken/tokens.db");

    ck_assert_int_eq(at_dburl_parse(&u, "sqlite3:///tokens.db?timeout_ms=250",
                                    &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->sqlite_dir, "/");
    ck_assert_str_eq(u->dbname, "tokens.db");
    ck_assert_int_eq(u->timeout_ms, 250);

    ck_assert_int_eq(at_dburl_parse(&u, "SQLite3:///a%20b/t%C3%A9.db",
                                    &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->path, "/a b/t\xc3\xa9.db");
    ck_assert_str_eq(u->sqlite_dir, "/a b");

    ck_assert_int_eq(at_dburl_parse(&u, "sqlite3:///x?timeout_ms=0",
                                    &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->timeout_ms, 0);
}
END_TEST

START_TEST(server_forms)
{
    at_dburl_t *u;
    const char *err;

    ck_assert_int_eq(at_dburl_parse(&u, "pgsql://user@127.0.0.1:5432/apitoken",
                                    &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->kind, AT_DB_PGSQL);
    ck_assert_str_eq(u->driver, "pgsql");
    ck_assert_str_eq(u->user, "user");
    ck_assert_ptr_null(u->password);
    ck_assert_str_eq(u->host, "127.0.0.1");
    ck_assert_int_eq(u->port, 5432);
    ck_assert_str_eq(u->dbname, "apitoken");
    ck_assert_ptr_null(u->path);
    ck_assert_ptr_null(u->sqlite_dir);
    ck_assert_str_eq(u->redacted, "pgsql://user@127.0.0.1:5432/apitoken");

    ck_assert_int_eq(at_dburl_parse(&u, "mysql://app:s3cr%40t:x@db.example-1"
                                    "/tok_en$1", &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->kind, AT_DB_MYSQL);
    ck_assert_str_eq(u->driver, "mysql");
    ck_assert_str_eq(u->user, "app");
    ck_assert_str_eq(u->password, "s3cr@t:x");
    ck_assert_str_eq(u->host, "db.example-1");
    ck_assert_int_eq(u->port, 0);
    ck_assert_str_eq(u->dbname, "tok_en$1");
    ck_assert_str_eq(u->redacted, "mysql://app:***@db.example-1/tok_en$1");
    ck_assert_ptr_null(strstr(u->redacted, "s3cr"));

    /* A raw '@' in the password: the last '@' ends the user info. */
    ck_assert_int_eq(at_dburl_parse(&u, "pgsql://u:p@ss@localhost/db",
                                    &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->password, "p@ss");
    ck_assert_str_eq(u->host, "localhost");
    ck_assert_str_eq(u->redacted, "pgsql://u:***@localhost/db");

    ck_assert_int_eq(at_dburl_parse(&u, "pgsql://u%20x:@[::1]:6543/db",
                                    &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->user, "u x");
    ck_assert_str_eq(u->password, "");
    ck_assert_str_eq(u->host, "::1");
    ck_assert_int_eq(u->port, 6543);
    ck_assert_str_eq(u->redacted, "pgsql://u%20x:***@[::1]:6543/db");

    ck_assert_int_eq(at_dburl_parse(&u, "PGSQL://[::ffff:127.0.0.1]/db",
                                    &err, tp), APR_SUCCESS);
    ck_assert_ptr_null(u->user);
    ck_assert_str_eq(u->host, "::ffff:127.0.0.1");

    ck_assert_int_eq(at_dburl_parse(&u, "mysql://root@localhost:65535/a",
                                    &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->port, 65535);
    ck_assert_int_eq(at_dburl_parse(&u, "mysql://root@localhost:1/a",
                                    &err, tp), APR_SUCCESS);
    ck_assert_int_eq(u->port, 1);
}
END_TEST

struct err_case {
    const char *url;
    const char *in_err;   /* must appear in *err */
};

static const struct err_case errs[] = {
    { "", "empty" },
    { "tokens.db", "not a database URL" },
    { "/var/lib/tokens.db", "not a database URL" },
    { "sqlite:///x.db", "unknown database URL scheme 'sqlite'" },
    { "postgres://u@h/db", "unknown database URL scheme 'postgres'" },
    { "http://u@h/db", "unknown database URL scheme 'http'" },
    { "://x", "unknown database URL scheme ''" },
    { "sqlite3://", "absolute path" },
    { "sqlite3://relative/x.db", "absolute path" },
    { "sqlite3://host/x.db", "absolute path" },
    { "sqlite3:///", "no file name" },
    { "sqlite3:///var/lib/", "no file name" },
    { "sqlite3:///var/..", "no file name" },
    { "sqlite3:///var/../etc/x.db", "'..'" },
    { "sqlite3:///var/./x.db", "'..'" },
    { "sqlite3:///x%00.db", "percent-escape" },
    { "sqlite3:///x%2.db", "percent-escape" },
    { "sqlite3:///x%", "percent-escape" },
    { "sqlite3:///x%zz", "percent-escape" },
    { "sqlite3:///x%0a.db", "control character" },
    { "sqlite3:///x.db?timeout_ms=", "bad timeout_ms" },
    { "sqlite3:///x.db?timeout_ms=-1", "bad timeout_ms '-1'" },
    { "sqlite3:///x.db?timeout_ms=abc", "bad timeout_ms 'abc'" },
    { "sqlite3:///x.db?timeout_ms=3600001", "bad timeout_ms" },
    { "sqlite3:///x.db?timeout_ms=99999999999999999999", "bad timeout_ms" },
    { "sqlite3:///x.db?timeout_ms=1&timeout_ms=2", "twice" },
    { "sqlite3:///x.db?timeout=1", "unknown query parameter 'timeout'" },
    { "sqlite3:///x.db?password_file=/x", "unknown query parameter" },
    { "sqlite3:///x.db?timeout_ms", "needs a value" },
    { "sqlite3:///x.db?&timeout_ms=1", "empty parameter" },
    { "sqlite3:///x.db?timeout_ms=1&", "empty parameter" },
    { "sqlite3:///my tokens.db", "space" },
    { "sqlite3:///x.db\n", "control character" },
    { "pgsql://", "missing host" },
    { "pgsql://u@", "missing host" },
    { "pgsql://u@/db", "missing host" },
    { "pgsql://u@:5432/db", "missing host" },
    { "pgsql://@h/db", "empty user" },
    { "pgsql://:pw@h/db", "empty user" },
    { "pgsql://u@h", "missing database name" },
    { "pgsql://u@h/", "missing database name" },
    { "pgsql://u@h:5432", "missing database name" },
    { "pgsql://u@h:/db", "bad port ''" },
    { "pgsql://u@h:0/db", "bad port '0'" },
    { "pgsql://u@h:65536/db", "bad port '65536'" },
    { "pgsql://u@h:99999999999/db", "bad port" },
    { "pgsql://u@h:54x/db", "bad port '54x'" },
    { "pgsql://u@h:-1/db", "bad port '-1'" },
    { "pgsql://u@::1/db", "brackets" },
    { "pgsql://u@[::1/db", "bad IPv6 host" },
    { "pgsql://u@[]/db", "bad IPv6 host" },
    { "pgsql://u@[::g]/db", "bad IPv6 host" },
    { "pgsql://u@[::1]x/db", "unexpected text after IPv6 host" },
    { "pgsql://u@h!st/db", "bad host 'h!st'" },
    { "pgsql://u@h/db/x", "bad database name 'db/x'" },
    { "pgsql://u@h/d'b", "bad database name" },
    { "pgsql://u@h/db;drop", "bad database name" },
    { "pgsql://u@h/"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "bad database name" },
    { "pgsql://u@h/db#frag", "bad database name" },
    { "pgsql://u@h#x/db", "'#'" },
    { "pgsql://u@h/db?sslmode=require", "unknown query parameter 'sslmode'" },
    { "pgsql://u@h/db?timeout_ms=5", "unknown query parameter 'timeout_ms'" },
    { "pgsql://u@h/db?password_file=relative", "absolute path" },
    { "pgsql://u@h/db?password_file=", "absolute path" },
    { "pgsql://u@h/db?password_file=/a&password_file=/b", "twice" },
    { "pgsql://u%zz@h/db", "user name" },
    { "pgsql://u%00@h/db", "user name" },
    { "mysql://u@h/db?password_file=/nonexistent/apitoken/pw",
      "cannot read password_file '/nonexistent/apitoken/pw'" },
    { "mysql://u@h/db?password_file=/", "cannot read password_file '/'" },
};

START_TEST(errors)
{
    const struct err_case *c = &errs[_i];
    at_dburl_t *u = (at_dburl_t *)1;
    const char *err = NULL;

    ck_assert_msg(at_dburl_parse(&u, c->url, &err, tp) == APR_EINVAL,
                  "'%s' accepted", c->url);
    ck_assert_ptr_null(u);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, c->in_err) != NULL, "'%s': error '%s' lacks "
                  "'%s'", c->url, err, c->in_err);
}
END_TEST

/* No error message ever contains the password, however the URL is broken. */
static const char *const pw_urls[] = {
    "pgsql://u:Sup3rS3cret@h:0/db",
    "pgsql://u:Sup3rS3cret@h/db?x=1",
    "pgsql://u:Sup3rS3cret@h/b'ad",
    "pgsql://u:Sup3rS3cret@h!x/db",
    "pgsql://u:Sup3r/S3cret@h/db",
    "pgsql://u:Sup3r?S3cret@h/db",
    "pgsql://u:Sup3r#S3cret@h/db",
    "pgsql://u:Sup3rS3cret%zz@h/db",
    "pgsql://u:Sup3rS3cret@h/db?password_file=/etc/hostname",
    "mysql://u:Sup3rS3cret@[zz]/db",
    "mysql://u:Sup3rS3cret@/db",
};

START_TEST(errors_never_show_password)
{
    at_dburl_t *u;
    const char *err = NULL;

    ck_assert_int_eq(at_dburl_parse(&u, pw_urls[_i], &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "S3cret") == NULL && strstr(err, "Sup3r") == NULL,
                  "'%s' leaks: %s", pw_urls[_i], err);
}
END_TEST

static const char *write_temp(const char *content, apr_size_t n)
{
    char *path = apr_pstrdup(tp, "/tmp/at-dburl-XXXXXX");
    apr_file_t *f;
    apr_size_t w = n;

    ck_assert_int_eq(apr_file_mktemp(&f, path, APR_FOPEN_CREATE
                                     | APR_FOPEN_READ | APR_FOPEN_WRITE
                                     | APR_FOPEN_EXCL, tp), APR_SUCCESS);
    if (n > 0) {
        ck_assert_int_eq(apr_file_write_full(f, content, n, &w), APR_SUCCESS);
    }
    apr_file_close(f);
    return path;
}

START_TEST(password_file)
{
    at_dburl_t *u;
    const char *err = NULL, *path, *url;

    path = write_temp("filepw\r\nsecond line\n", 21);
    url = apr_pstrcat(tp, "pgsql://app@127.0.0.1/db?password_file=", path,
                      NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->password, "filepw");
    ck_assert_str_eq(u->redacted, url);
    unlink(path);

    path = write_temp("no-newline", 10);
    url = apr_pstrcat(tp, "mysql://app@127.0.0.1/db?password_file=", path,
                      NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_SUCCESS);
    ck_assert_str_eq(u->password, "no-newline");
    unlink(path);

    /* Empty file, and a file whose first line is empty. */
    path = write_temp("", 0);
    url = apr_pstrcat(tp, "pgsql://app@h/db?password_file=", path, NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "is empty"));
    ck_assert_ptr_nonnull(strstr(err, path));
    unlink(path);
    path = write_temp("\nlater", 6);
    url = apr_pstrcat(tp, "pgsql://app@h/db?password_file=", path, NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "is empty"));
    unlink(path);

    /* A password in the URL and a file: ambiguous. */
    path = write_temp("x\n", 2);
    url = apr_pstrcat(tp, "pgsql://app:pw@h/db?password_file=", path, NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    unlink(path);

    /* Now missing. */
    url = apr_pstrcat(tp, "pgsql://app@h/db?password_file=", path, NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "cannot read password_file"));
    ck_assert_ptr_nonnull(strstr(err, path));

    /* NUL or control bytes in the first line. */
    path = write_temp("a\0b\n", 4);
    url = apr_pstrcat(tp, "pgsql://app@h/db?password_file=", path, NULL);
    ck_assert_int_eq(at_dburl_parse(&u, url, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "control character"));
    unlink(path);
}
END_TEST

START_TEST(null_url)
{
    at_dburl_t *u;
    const char *err = NULL;

    ck_assert_int_eq(at_dburl_parse(&u, NULL, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

static Suite *dburl_suite(void)
{
    Suite *s = suite_create("at_dburl");
    TCase *tc = unit_tcase("dburl");

    tcase_add_test(tc, sqlite_forms);
    tcase_add_test(tc, server_forms);
    tcase_add_loop_test(tc, errors, 0, (int)ARRAY_LEN(errs));
    tcase_add_loop_test(tc, errors_never_show_password, 0,
                        (int)ARRAY_LEN(pw_urls));
    tcase_add_test(tc, password_file);
    tcase_add_test(tc, null_url);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(dburl_suite)
