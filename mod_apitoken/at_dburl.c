/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The database URL parser shared by the module and the tool (syntax in
 * at_dburl.h).  Every error names the bad part, printable and shortened,
 * and never contains the password. */
#include <string.h>

#include <apr_cstr.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_dburl.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS     3600000
#define DBNAME_MAX         64
#define PATH_MAX_LEN       4096
#define PWFILE_MAX         4096

/* A printable, bounded rendering of (non-secret) input for messages. */
static const char *show(apr_pool_t *p, const char *s, apr_size_t n)
{
    apr_size_t i, m = n > 64 ? 64 : n;
    char *o = apr_palloc(p, m + 4);

    for (i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        o[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (m < n) {
        memcpy(o + m, "...", 3);
        m += 3;
    }
    o[m] = '\0';
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Strict percent-decoding of s[0..n): every '%' must start a two-digit
 * escape and no escape may produce NUL.  NULL on failure. */
static char *pct_decode(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *o = apr_palloc(p, n + 1), *q = o;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (n - i < 3) {
                return NULL;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *q++ = (char)(hi * 16 + lo);
            i += 2;
        }
        else {
            *q++ = s[i];
        }
    }
    *q = '\0';
    return o;
}

static int has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t fail(const char **err, const char *msg)
{
    *err = msg;
    return APR_EINVAL;
}

/* First line of the file, without its CR/LF. */
static apr_status_t read_password_file(const char **pw, const char *path,
                                       const char **err, apr_pool_t *p)
{
    apr_file_t *f;
    apr_status_t rv;
    char buf[PWFILE_MAX + 1], ebuf[120];
    apr_size_t n = PWFILE_MAX, len;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, n, &n);
        apr_file_close(f);
        if (rv == APR_EOF) {
            rv = APR_SUCCESS;
        }
    }
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(buf, sizeof(buf));
        *err = apr_psprintf(p, "cannot read password_file '%s': %s",
                            show(p, path, strlen(path)),
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        return APR_EINVAL;
    }
    for (len = 0; len < n && buf[len] != '\n'; len++) {
    }
    if (len > 0 && buf[len - 1] == '\r') {
        len--;
    }
    buf[len] = '\0';
    if (len == 0) {
        *err = apr_psprintf(p, "password_file '%s' is empty (the password "
                            "is its first line)", show(p, path, strlen(path)));
    }
    else if (memchr(buf, '\0', len) != NULL || has_ctl(buf)) {
        *err = apr_psprintf(p, "password_file '%s' has a control character "
                            "in its first line", show(p, path, strlen(path)));
    }
    else {
        *pw = apr_pstrmemdup(p, buf, len);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return *pw ? APR_SUCCESS : APR_EINVAL;
}

/* Parse the query string q (without '?') for the given kind. */
static apr_status_t parse_query(at_dburl_t *u, const char *q,
                                const char **pwfile, const char **err,
                                apr_pool_t *p)
{
    int seen_timeout = 0;

    while (*q) {
        const char *amp = strchr(q, '&'), *eq;
        apr_size_t n = amp ? (apr_size_t)(amp - q) : strlen(q);
        const char *name, *val;

        if (n == 0) {
            return fail(err, "empty parameter in the query string");
        }
        eq = memchr(q, '=', n);
        if (eq == NULL) {
            *err = apr_psprintf(p, "query parameter '%s' needs a value",
                                show(p, q, n));
            return APR_EINVAL;
        }
        name = apr_pstrmemdup(p, q, (apr_size_t)(eq - q));
        val = pct_decode(p, eq + 1, n - (apr_size_t)(eq - q) - 1);
        if (val == NULL) {
            *err = apr_psprintf(p, "bad percent-escape in query parameter "
                                "'%s'", show(p, name, strlen(name)));
            return APR_EINVAL;
        }
        if (u->kind == AT_DB_SQLITE3 && strcmp(name, "timeout_ms") == 0) {
            apr_int64_t v = 0;
            const char *d;

            if (seen_timeout++) {
                return fail(err, "timeout_ms given twice");
            }
            for (d = val; *d >= '0' && *d <= '9' && v <= MAX_TIMEOUT_MS; d++) {
                v = v * 10 + (*d - '0');
            }
            if (*val == '\0' || *d != '\0' || v > MAX_TIMEOUT_MS) {
                *err = apr_psprintf(p, "bad timeout_ms '%s' (0 to %d)",
                                    show(p, val, strlen(val)),
                                    MAX_TIMEOUT_MS);
                return APR_EINVAL;
            }
            u->timeout_ms = (int)v;
        }
        else if (u->kind != AT_DB_SQLITE3
                 && strcmp(name, "password_file") == 0) {
            if (*pwfile != NULL) {
                return fail(err, "password_file given twice");
            }
            if (val[0] != '/' || has_ctl(val)) {
                *err = apr_psprintf(p, "password_file '%s' must be an "
                                    "absolute path",
                                    show(p, val, strlen(val)));
                return APR_EINVAL;
            }
            *pwfile = val;
        }
        else {
            *err = apr_psprintf(p, "unknown query parameter '%s' for %s "
                                "(known: %s)", show(p, name, strlen(name)),
                                u->driver,
                                u->kind == AT_DB_SQLITE3 ? "timeout_ms"
                                                         : "password_file");
            return APR_EINVAL;
        }
        q += n;
        if (*q == '&') {
            q++;
            if (*q == '\0') {
                return fail(err, "empty parameter in the query string");
            }
        }
    }
    return APR_SUCCESS;
}

static apr_status_t parse_sqlite(at_dburl_t *u, const char *rest,
                                 const char **err, apr_pool_t *p)
{
    const char *q = strchr(rest, '?'), *slash;
    apr_size_t n = q ? (apr_size_t)(q - rest) : strlen(rest);
    const char *pwfile = NULL;
    char *path;

    if (n == 0 || rest[0] != '/') {
        return fail(err, "sqlite3 URL needs an absolute path and no host "
                         "(sqlite3:///path/to/tokens.db)");
    }
    if (n > PATH_MAX_LEN) {
        return fail(err, "sqlite3 path too long");
    }
    path = pct_decode(p, rest, n);
    if (path == NULL) {
        return fail(err, "bad percent-escape in the sqlite3 path");
    }
    if (has_ctl(path)) {
        return fail(err, "control character in the sqlite3 path");
    }
    if (strstr(path, "/../") != NULL || strstr(path, "/./") != NULL) {
        *err = apr_psprintf(p, "sqlite3 path '%s' must not contain '.' or "
                            "'..' components", show(p, path, strlen(path)));
        return APR_EINVAL;
    }
    slash = strrchr(path, '/');
    if (slash[1] == '\0' || strcmp(slash + 1, ".") == 0
        || strcmp(slash + 1, "..") == 0) {
        *err = apr_psprintf(p, "sqlite3 path '%s' has no file name",
                            show(p, path, strlen(path)));
        return APR_EINVAL;
    }
    u->path = path;
    u->dbname = slash + 1;
    u->sqlite_dir = slash == path ? "/"
                    : apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
    if (q != NULL && parse_query(u, q + 1, &pwfile, err, p) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static int host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static apr_status_t parse_server(at_dburl_t *u, const char *url,
                                 const char *rest, const char **err,
                                 apr_pool_t *p)
{
    const char *auth_end = rest + strcspn(rest, "/?#");
    const char *at = NULL, *s, *hp, *path_end, *q;
    const char *pwfile = NULL;
    apr_size_t i;

    for (s = rest; s < auth_end; s++) {
        if (*s == '@') {
            at = s;
        }
    }
    if (at == NULL && strchr(auth_end, '@') != NULL) {
        /* A raw '/', '?' or '#' in the user or password cut the authority
         * short; say so without echoing what may be the password. */
        return fail(err, "cannot find user@host: percent-encode '/', '?', "
                         "'#' and '@' in the user and password");
    }
    if (*auth_end == '#') {
        return fail(err, "'#' is not allowed in a database URL "
                         "(percent-encode it as %23)");
    }

    if (at != NULL) {
        const char *colon = memchr(rest, ':', (apr_size_t)(at - rest));
        const char *uend = colon ? colon : at;

        if (uend == rest) {
            return fail(err, "empty user name before '@'");
        }
        u->user = pct_decode(p, rest, (apr_size_t)(uend - rest));
        if (u->user == NULL || has_ctl(u->user)) {
            return fail(err, "bad percent-escape or control character in "
                             "the user name");
        }
        if (colon != NULL) {
            u->password = pct_decode(p, colon + 1,
                                     (apr_size_t)(at - colon - 1));
            if (u->password == NULL || has_ctl(u->password)) {
                return fail(err, "bad percent-escape or control character "
                                 "in the password");
            }
            u->redacted = apr_pstrcat(p,
                apr_pstrmemdup(p, url, (apr_size_t)(colon + 1 - url)), "***",
                at, NULL);
        }
        hp = at + 1;
    }
    else {
        hp = rest;
    }

    /* host[:port], IPv6 literals in brackets */
    if (hp == auth_end) {
        *err = apr_psprintf(p, "missing host (%s://user@host[:port]/dbname)",
                            u->driver);
        return APR_EINVAL;
    }
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (apr_size_t)(auth_end - hp));

        if (rb == NULL || rb == hp + 1) {
            *err = apr_psprintf(p, "bad IPv6 host '%s'",
                                show(p, hp, (apr_size_t)(auth_end - hp)));
            return APR_EINVAL;
        }
        for (s = hp + 1; s < rb; s++) {
            if (!(hexval(*s) >= 0 || *s == ':' || *s == '.')) {
                *err = apr_psprintf(p, "bad IPv6 host '%s'",
                                    show(p, hp, (apr_size_t)(rb + 1 - hp)));
                return APR_EINVAL;
            }
        }
        u->host = apr_pstrmemdup(p, hp + 1, (apr_size_t)(rb - hp - 1));
        s = rb + 1;
        if (s < auth_end && *s != ':') {
            *err = apr_psprintf(p, "unexpected text after IPv6 host '%s'",
                                show(p, hp, (apr_size_t)(auth_end - hp)));
            return APR_EINVAL;
        }
    }
    else {
        for (s = hp; s < auth_end && *s != ':'; s++) {
            if (!host_char((unsigned char)*s)) {
                *err = apr_psprintf(p, "bad host '%s' (IPv6 addresses go "
                                    "in brackets)",
                                    show(p, hp, (apr_size_t)(auth_end - hp)));
                return APR_EINVAL;
            }
        }
        if (s == hp) {
            *err = apr_psprintf(p, "missing host (%s://user@host[:port]/"
                                "dbname; IPv6 addresses go in brackets: "
                                "[::1])", u->driver);
            return APR_EINVAL;
        }
        u->host = apr_pstrmemdup(p, hp, (apr_size_t)(s - hp));
    }
    if (s < auth_end) {            /* at ':' */
        const char *ps = s + 1;
        apr_size_t n = (apr_size_t)(auth_end - ps);
        int port = 0;

        for (i = 0; i < n && i < 6; i++) {
            if (ps[i] < '0' || ps[i] > '9') {
                break;
            }
            port = port * 10 + (ps[i] - '0');
        }
        if (n == 0 || i != n || port < 1 || port > 65535) {
            *err = apr_psprintf(p, "bad port '%s' (1 to 65535)",
                                show(p, ps, n));
            return APR_EINVAL;
        }
        u->port = port;
    }

    /* /dbname */
    if (*auth_end != '/') {
        return fail(err, "missing database name "
                         "(pgsql://user@host[:port]/dbname)");
    }
    s = auth_end + 1;
    path_end = s + strcspn(s, "?");
    q = *path_end == '?' ? path_end + 1 : NULL;
    if (path_end == s) {
        return fail(err, "missing database name "
                         "(pgsql://user@host[:port]/dbname)");
    }
    for (i = 0; s + i < path_end; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '$'
              || c == '-') || i >= DBNAME_MAX) {
            *err = apr_psprintf(p, "bad database name '%s' (1 to %d of "
                                "A-Z a-z 0-9 _ $ -)",
                                show(p, s, (apr_size_t)(path_end - s)),
                                DBNAME_MAX);
            return APR_EINVAL;
        }
    }
    u->dbname = apr_pstrmemdup(p, s, (apr_size_t)(path_end - s));

    if (q != NULL && parse_query(u, q, &pwfile, err, p) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (pwfile != NULL) {
        if (u->password != NULL) {
            return fail(err, "password given twice (in the URL and in "
                             "password_file)");
        }
        if (read_password_file(&u->password, pwfile, err, p)
            != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t at_dburl_parse(at_dburl_t **out, const char *url,
                            const char **err, apr_pool_t *p)
{
    at_dburl_t *u;
    const char *sep, *s;
    apr_size_t slen;
    apr_status_t rv;

    *out = NULL;
    *err = NULL;
    if (url == NULL || *url == '\0') {
        return fail(err, "empty database URL");
    }
    for (s = url; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            return fail(err, "space or control character in the database "
                             "URL (percent-encode it)");
        }
    }
    sep = strstr(url, "://");
    if (sep == NULL) {
        return fail(err, "not a database URL (expected sqlite3:///path, "
                         "pgsql://user@host/db or mysql://user@host/db)");
    }
    u = apr_pcalloc(p, sizeof(*u));
    u->timeout_ms = DEFAULT_TIMEOUT_MS;
    u->redacted = url;
    slen = (apr_size_t)(sep - url);
    if (slen == 7 && apr_cstr_casecmpn(url, "sqlite3", 7) == 0) {
        u->kind = AT_DB_SQLITE3;
        u->driver = "sqlite3";
        rv = parse_sqlite(u, sep + 3, err, p);
    }
    else if (slen == 5 && apr_cstr_casecmpn(url, "pgsql", 5) == 0) {
        u->kind = AT_DB_PGSQL;
        u->driver = "pgsql";
        rv = parse_server(u, url, sep + 3, err, p);
    }
    else if (slen == 5 && apr_cstr_casecmpn(url, "mysql", 5) == 0) {
        u->kind = AT_DB_MYSQL;
        u->driver = "mysql";
        rv = parse_server(u, url, sep + 3, err, p);
    }
    else {
        *err = apr_psprintf(p, "unknown database URL scheme '%s' (expected "
                            "sqlite3, pgsql or mysql)", show(p, url, slen));
        return APR_EINVAL;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = u;
    return APR_SUCCESS;
}
