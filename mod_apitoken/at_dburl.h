/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_DBURL_H
#define AT_DBURL_H

#include <apr_pools.h>

/* One URL syntax for the module and the tool:
 *   sqlite3:///abs/path/tokens.db[?timeout_ms=N]
 *   pgsql://user[:password]@host[:port]/dbname[?password_file=/path]
 *   mysql://user[:password]@host[:port]/dbname[?password_file=/path]
 * user and password may be percent-encoded.  password_file is read when the
 * URL is parsed (first line, trailing newline removed). */
typedef enum {
    AT_DB_SQLITE3 = 0,
    AT_DB_PGSQL,
    AT_DB_MYSQL
} at_db_kind_t;

typedef struct at_dburl_t {
    at_db_kind_t kind;
    const char *driver;      /* libdbi driver name: "sqlite3", "pgsql", "mysql" */
    const char *user;        /* NULL when absent */
    const char *password;    /* NULL when absent */
    const char *host;        /* NULL for sqlite3 */
    int port;                /* 0 = driver default */
    const char *dbname;      /* database name; for sqlite3 the file name */
    const char *sqlite_dir;  /* sqlite3 only: directory of the file */
    const char *path;        /* sqlite3 only: the absolute path */
    int timeout_ms;          /* sqlite3 busy timeout, default 5000 */
    const char *redacted;    /* the URL with the password replaced by "***" */
} at_dburl_t;

/* APR_SUCCESS, or APR_EINVAL with *err naming the bad part (from p). */
apr_status_t at_dburl_parse(at_dburl_t **out, const char *url,
                            const char **err, apr_pool_t *p);

#endif
