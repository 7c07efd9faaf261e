/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Database connections for httpd processes, in the manner of mod_dbd: one
 * libdbi instance per child (created in child_init, never in the parent),
 * a pool (apr_reslist) of connections each held by one thread at a time,
 * checked before use and replaced when dead.  A connection belongs to the
 * request that took it, and a cleanup on that request's pool gives it back:
 * no caller can take a second one or lose one on an early return.  Only
 * the driver ApiTokenDB names is loaded: post_config links it alone into a
 * private directory. */

/* Only the driver directory is wanted from the build's config.h; its
 * PACKAGE_* names clash with httpd's own. */
#include "config.h"
static const char default_driver_dir[] = AT_DBI_DRIVERDIR;
#undef PACKAGE_BUGREPORT
#undef PACKAGE_NAME
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_VERSION
#undef PACKAGE_URL
#undef PACKAGE
#undef VERSION

#include <stdio.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <errno.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_main.h>
#include <ap_mpm.h>
#include <apr_strings.h>
#include <apr_atomic.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_reslist.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <unixd.h>

#include "at_store_dbi.h"
#include "at_store_sqlite_fast.h"
#include "apitoken_db.h"
#include "apitoken_config.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

/* Seconds a connection may sit idle before it is pinged again. */
#define CHECK_AFTER_IDLE apr_time_from_sec(1)
/* At most one "database unreachable" line per process this often. */
#define DOWN_LOG_EVERY 10
/* Seconds a request waits for a free pooled connection. */
#define ACQUIRE_TIMEOUT 10
/* Pool userdata of the initial request: its held_t. */
#define HELD_KEY "apitoken-db-conn"

struct apitoken_conn_t {
    at_store_t *store;
    apr_pool_t *pool;          /* unmanaged: owns the store */
    apr_time_t last_ok;
    const char *prefix;        /* schema prefix, learnt on first use */
    apr_ino_t ino;             /* SQLite: the file the connection opened */
    apr_dev_t dev;
    at_sqlite_fast_t *fast;    /* SQLite: the prepared lookup, or NULL */
    int fast_tried;            /* preparing it was attempted */
    int bad;                   /* a caller saw an error: close, not reuse */
};

/* A request's hold: its connection until the request's pool gives it
 * back, or (conn NULL) why its one acquire failed. */
typedef struct held_t {
    apitoken_conn_t *conn;
    apr_status_t rv;
} held_t;

static struct {
    dbi_inst inst;
    int have_inst;
    apr_pool_t *pool;              /* unmanaged: owns the reslist */
    apr_reslist_t *list;
    apr_uint32_t held;             /* connections requests hold now */
    server_rec *s;
    apr_uint32_t down_logged_at;   /* apr_time_sec of the last line */
    apr_uint32_t down;             /* 1 while the database is unreachable */
    apr_thread_t *closer;          /* closes idle connections */
    volatile apr_uint32_t stop;    /* tells it to end */
} child;

/* The driver directory's mode: APR permission bits, not an octal mode. */
#define DRIVER_DIR_PERMS (APR_FPROT_UREAD | APR_FPROT_UWRITE \
                          | APR_FPROT_UEXECUTE | APR_FPROT_GREAD \
                          | APR_FPROT_GEXECUTE | APR_FPROT_WREAD \
                          | APR_FPROT_WEXECUTE)

static const char *driver_file(apr_pool_t *p, const char *dir,
                               const char *driver)
{
    return apr_pstrcat(p, dir, "/libdbd", driver, ".so", NULL);
}

/* 1 when the file mode m owned by uid/gid grants bits (R=4, W=2, X=1) to
 * the user the children run as.  Supplementary groups are not considered:
 * this only feeds a startup warning. */
static int mode_allows(apr_fileperms_t m, apr_uid_t uid, apr_gid_t gid,
                       int bits)
{
    int have;

    if (ap_unixd_config.user_id == 0) {
        return 1;
    }
    if (uid == ap_unixd_config.user_id) {
        have = (m & APR_FPROT_UREAD ? 4 : 0) | (m & APR_FPROT_UWRITE ? 2 : 0)
               | (m & APR_FPROT_UEXECUTE ? 1 : 0);
    }
    else if (gid == ap_unixd_config.group_id) {
        have = (m & APR_FPROT_GREAD ? 4 : 0) | (m & APR_FPROT_GWRITE ? 2 : 0)
               | (m & APR_FPROT_GEXECUTE ? 1 : 0);
    }
    else {
        have = (m & APR_FPROT_WREAD ? 4 : 0) | (m & APR_FPROT_WWRITE ? 2 : 0)
               | (m & APR_FPROT_WEXECUTE ? 1 : 0);
    }
    return (have & bits) == bits;
}

/* A SQLite store the children cannot use is a startup warning, not a
 * failure: httpd still starts and answers 503 until it is fixed. */
static void sqlite_startup_check(apitoken_global_t *g, server_rec *s,
                                 apr_pool_t *p)
{
    const char *path = g->db->path, *dir = g->db->sqlite_dir, *why = NULL;
    apr_finfo_t fi, di;
    apr_status_t rv;

    rv = apr_stat(&di, dir, APR_FINFO_PROT | APR_FINFO_OWNER, p);
    if (rv != APR_SUCCESS) {
        why = "its directory does not exist";
    }
    else if (!mode_allows(di.protection, di.user, di.group, 1 | 2)) {
        why = "its directory is not writable and searchable by httpd's "
              "User (SQLite's WAL files live there)";
    }
    else if ((rv = apr_stat(&fi, path, APR_FINFO_PROT | APR_FINFO_OWNER
                                       | APR_FINFO_TYPE, p)) != APR_SUCCESS) {
        why = "it does not exist (create it with apitoken init)";
    }
    else if (fi.filetype != APR_REG) {
        why = "it is not a regular file";
    }
    else if (!mode_allows(fi.protection, fi.user, fi.group, 4 | 2)) {
        why = "it is not readable and writable by httpd's User";
    }
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "APT04008: SQLite token store %s (ApiTokenDB at %s:%d) "
                     "is not usable: %s; requests will get 503 until it is",
                     path, g->db_file, g->db_line, why);
    }
}

/* Parent, as root, before the children fork: a private driver directory
 * holding a link to the one driver in use, since libdbi loads every .so in
 * the directory it is given (about 6 MB more per child). */
apr_status_t apitoken_db_post_config(apr_pool_t *pconf, server_rec *s)
{
    apitoken_global_t *g = apitoken_global;
    static const char *const drivers[] = { "sqlite3", "pgsql", "mysql",
                                           NULL };
    const char *src, *dir, *link, *tmp;
    apr_finfo_t fi;
    apr_status_t rv;
    int i;

    if (!g || !g->db) {
        return APR_SUCCESS;
    }
    src = driver_file(pconf, g->driver_src_dir ? g->driver_src_dir
                                               : default_driver_dir,
                      g->db->driver);
    rv = apr_stat(&fi, src, APR_FINFO_TYPE, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT04001: libdbi driver %s for ApiTokenDB (%s:%d) "
                     "not found; install libdbd-%s", src, g->db_file,
                     g->db_line, g->db->driver);
        return rv;
    }
    dir = ap_runtime_dir_relative(pconf, "apitoken-dbd");
    /* rwxr-xr-x whoever owns it, so a chown -R of the runtime directory
     * cannot lock the children out; set again on an existing directory,
     * which an older build made with a wrong mode. */
    rv = apr_dir_make_recursive(dir, DRIVER_DIR_PERMS, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT04002: cannot create the driver directory %s", dir);
        return rv;
    }
    rv = apr_stat(&fi, dir, APR_FINFO_PROT, pconf);
    if (rv == APR_SUCCESS && fi.protection != DRIVER_DIR_PERMS) {
        rv = apr_file_perms_set(dir, DRIVER_DIR_PERMS);
    }
    if (rv != APR_SUCCESS) {
        /* It may still be readable; the children say so if it is not. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "APT04009: cannot give the driver directory %s mode "
                     "0755", dir);
    }
    for (i = 0; drivers[i]; ++i) {
        if (strcmp(drivers[i], g->db->driver)) {
            apr_file_remove(driver_file(pconf, dir, drivers[i]), pconf);
        }
    }
    /* The link in use is replaced, never removed: on a graceful restart a
     * child of the old generation may still be loading it.  rename() puts
     * the new link in place in one step. */
    link = driver_file(pconf, dir, g->db->driver);
    tmp = apr_pstrcat(pconf, dir, "/.libdbd-new", NULL);
    apr_file_remove(tmp, pconf);
    if (symlink(src, tmp) != 0 || rename(tmp, link) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT04003: cannot link %s to %s", link, src);
        apr_file_remove(tmp, pconf);
        return rv;
    }
    g->driver_dir = dir;
    if (g->db->kind == AT_DB_SQLITE3) {
        sqlite_startup_check(g, s, pconf);
    }
    return APR_SUCCESS;
}

void apitoken_db_log_down(request_rec *r, const char *why)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&child.down_logged_at);

    apitoken_status_add(APITOKEN_ST_DB_ERRORS, 1);
    apr_atomic_set32(&child.down, 1);
    if (now - last < DOWN_LOG_EVERY && last != 0) {
        return;
    }
    if (apr_atomic_cas32(&child.down_logged_at, now, last) != last) {
        return;   /* another thread logged it */
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, r ? r->server : child.s,
                 "APT04004: token database %s unreachable, answering 503: "
                 "%s", apitoken_global && apitoken_global->db
                     ? apitoken_global->db->redacted : "(none)",
                 why ? why : "unknown error");
}

static void mark_up(void)
{
    if (apr_atomic_cas32(&child.down, 0, 1) == 1) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, child.s,
                     "APT04005: token database reachable again");
    }
}

static apr_status_t conn_make(void **res, void *params, apr_pool_t *unused)
{
    const at_dburl_t *url = apitoken_global->db;
    apitoken_conn_t *c;
    apr_pool_t *p;
    apr_finfo_t fi;
    const char *err = NULL;
    apr_status_t rv;

    rv = apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->pool = p;
    if (url->kind == AT_DB_SQLITE3) {
        rv = apr_stat(&fi, url->path, APR_FINFO_INODE | APR_FINFO_DEV, p);
        if (rv != APR_SUCCESS) {
            apitoken_db_log_down(NULL, apr_psprintf(p, "cannot stat %s "
                                 "(%d)", url->path, rv));
            apr_pool_destroy(p);
            return rv;
        }
        c->ino = fi.inode;
        c->dev = fi.device;
    }
    rv = at_store_dbi_open(&c->store, child.inst, url, 0, &err, p);
    if (rv != APR_SUCCESS) {
        apitoken_db_log_down(NULL, err);
        apr_pool_destroy(p);
        return rv ? rv : APR_EGENERAL;
    }
    *res = c;
    return APR_SUCCESS;
}

static apr_status_t conn_free(void *res, void *params, apr_pool_t *unused)
{
    apitoken_conn_t *c = res;

    /* sqlite3_close refuses a connection with a live statement. */
    at_sqlite_fast_close(c->fast);
    at_store_close(c->store);
    apr_pool_destroy(c->pool);
    return APR_SUCCESS;
}

/* pchild's cleanup, run after its subpools (prefork's requests) are gone:
 * close the connections.  apr_reslist aborts the process when destroyed
 * with a connection out, which a request can still hold here (event: a
 * response being written at an ungraceful stop); then the exit closes
 * them. */
static apr_status_t pool_close(void *unused)
{
    apr_reslist_t *list = child.list;

    child.list = NULL;
    if (list && apr_atomic_read32(&child.held) == 0) {
        apr_pool_destroy(child.pool);
    }
    return APR_SUCCESS;
}

/* Idle connections are closed only when the pool is touched; a process
 * that gets no requests would keep them for ever, so a thread touches it
 * once a second. */
static void *APR_THREAD_FUNC closer_run(apr_thread_t *t, void *unused)
{
    int tick = 0;

    while (!apr_atomic_read32(&child.stop)) {
        apr_sleep(apr_time_from_msec(100));
        if (++tick % 10 == 0 && child.list) {
            apr_reslist_maintain(child.list);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Runs before pool_close and before pchild's subpools go: the thread must
 * be gone before the reslist and its own pool are. */
static apr_status_t closer_stop(void *unused)
{
    apr_status_t rv;

    if (child.closer) {
        apr_atomic_set32(&child.stop, 1);
        apr_thread_join(&rv, child.closer);
        child.closer = NULL;
    }
    return APR_SUCCESS;
}

void apitoken_db_child_init(apr_pool_t *pchild, server_rec *s)
{
    apitoken_global_t *g = apitoken_global;
    const char *err = NULL;
    int threads = 1, hmax;
    sigset_t all, old;
    apr_status_t rv;

    child.s = s;
    if (!g || !g->db) {
        return;
    }
    rv = at_dbi_init(&child.inst, g->driver_dir, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT04006: cannot load the libdbi %s driver from %s: %s",
                     g->db->driver, g->driver_dir ? g->driver_dir : "?",
                     err ? err : "unknown error");
        return;
    }
    child.have_inst = 1;
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    hmax = threads > 0 ? threads : 1;
    if (g->max_conns > 0 && g->max_conns < hmax) {
        hmax = g->max_conns;
    }
    rv = apr_pool_create_unmanaged_ex(&child.pool, NULL, NULL);
    if (rv == APR_SUCCESS) {
        /* None kept idle past the timeout: a node's processes hold only
         * the connections their recent requests needed. */
        rv = apr_reslist_create(&child.list, 0, 0, hmax,
                                apr_time_from_sec(g->idle_timeout > 0
                                                  ? g->idle_timeout
                                                  : APITOKEN_DEFAULT_DB_IDLE_TIMEOUT),
                                conn_make, conn_free, NULL, child.pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT04007: cannot create the connection pool");
        child.list = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, pool_close,
                              apr_pool_cleanup_null);
    /* With fewer connections than threads, a thread waits for one, but a
     * stuck database must not hold every worker: 503 after a while. */
    apr_reslist_timeout_set(child.list, apr_time_from_sec(ACQUIRE_TIMEOUT));
    child.stop = 0;
    /* The thread starts with every signal blocked: prefork's handlers end
     * the process from whichever thread takes the signal, and this one
     * must never be it. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&child.closer, NULL, closer_run, NULL, pchild);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv == APR_SUCCESS) {
        /* A pre-cleanup: the thread lives in a subpool of pchild, which
         * is destroyed before pchild's own cleanups run. */
        apr_pool_pre_cleanup_register(pchild, NULL, closer_stop);
    }
    else {
        child.closer = NULL;
    }
}

/* SQLite: the connection keeps reading a file renamed, replaced or made
 * unreadable under it; look at the path itself. */
static apr_status_t sqlite_check(apitoken_conn_t *c, const char **why,
                                 apr_pool_t *p)
{
    const char *path = apitoken_global->db->path;
    apr_finfo_t fi;
    apr_status_t rv;

    rv = apr_stat(&fi, path, APR_FINFO_INODE | APR_FINFO_DEV, p);
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "%s is missing", path);
        return rv;
    }
    if (access(path, R_OK) != 0) {
        *why = apr_psprintf(p, "%s is not readable by this user", path);
        return APR_EACCES;
    }
    if (fi.inode != c->ino || fi.device != c->dev) {
        *why = apr_psprintf(p, "%s was replaced", path);
        return APR_EAGAIN;
    }
    return APR_SUCCESS;
}

/* A checked connection from the pool, or an error after one line. */
static apr_status_t pool_take(apitoken_conn_t **conn, request_rec *r)
{
    const char *why = NULL;
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    if (!child.list) {
        apitoken_db_log_down(r, child.have_inst
                             ? "no connection pool"
                             : "the libdbi driver is not loaded");
        return APR_EGENERAL;
    }
    /* Two tries: a dead pooled connection is replaced once at once. */
    for (attempt = 0; attempt < 2; ++attempt) {
        void *res;
        apitoken_conn_t *c;

        rv = apr_reslist_acquire(child.list, &res);
        if (APR_STATUS_IS_TIMEUP(rv) || rv == APR_EAGAIN) {
            apitoken_db_log_down(r, "no free database connection in time "
                                 "(see ApiTokenDBMaxConnections)");
            return rv;
        }
        if (rv != APR_SUCCESS) {
            return rv;   /* conn_make logged why */
        }
        c = res;
        if (apitoken_global->db->kind == AT_DB_SQLITE3) {
            rv = sqlite_check(c, &why, r->pool);
            if (rv != APR_SUCCESS) {
                apr_reslist_invalidate(child.list, c);
                if (rv == APR_EAGAIN) {
                    continue;
                }
                apitoken_db_log_down(r, why);
                return rv;
            }
        }
        if (apr_time_now() - c->last_ok > CHECK_AFTER_IDLE
            && at_store_ping(c->store) != APR_SUCCESS) {
            why = apr_pstrdup(r->pool, at_store_error(c->store));
            apr_reslist_invalidate(child.list, c);
            rv = APR_EGENERAL;
            continue;
        }
        mark_up();
        *conn = c;
        return APR_SUCCESS;
    }
    apitoken_db_log_down(r, why ? why : "connection check failed");
    return rv;
}

/* The initial request's pool cleanup: the connection goes back to the
 * pool, or is closed when a caller saw it fail. */
static apr_status_t held_release(void *data)
{
    held_t *h = data;
    apitoken_conn_t *c = h->conn;

    if (!c) {
        return APR_SUCCESS;
    }
    /* A later acquire in the pool's remaining cleanups gets none. */
    h->conn = NULL;
    h->rv = APR_EGENERAL;
    if (child.list) {
        if (c->bad) {
            apr_reslist_invalidate(child.list, c);
        }
        else {
            c->last_ok = apr_time_now();
            apr_reslist_release(child.list, c);
        }
    }
    apr_atomic_dec32(&child.held);
    return APR_SUCCESS;
}

apr_status_t apitoken_db_acquire(apitoken_conn_t **conn, at_store_t **store,
                                 request_rec *r)
{
    request_rec *top = r;
    held_t *h;
    void *v = NULL;

    /* Subrequests and internal redirects share the client request's. */
    while (top->main || top->prev) {
        top = top->main ? top->main : top->prev;
    }
    apr_pool_userdata_get(&v, HELD_KEY, top->pool);
    h = v;
    if (!h) {
        h = apr_pcalloc(top->pool, sizeof(*h));
        apr_pool_userdata_setn(h, HELD_KEY, NULL, top->pool);
        h->rv = pool_take(&h->conn, r);
        if (h->rv != APR_SUCCESS) {
            h->conn = NULL;
        }
        else {
            apr_atomic_inc32(&child.held);
            /* Not in a forked CGI child: the connection is the parent's. */
            apr_pool_cleanup_register(top->pool, h, held_release,
                                      apr_pool_cleanup_null);
        }
    }
    if (!h->conn) {
        return h->rv;
    }
    if (h->conn->bad) {
        return APR_EGENERAL;
    }
    *conn = h->conn;
    *store = h->conn->store;
    return APR_SUCCESS;
}

void apitoken_db_mark_bad(apitoken_conn_t *c)
{
    c->bad = 1;
}

apr_status_t apitoken_db_prefix(const char **prefix, apitoken_conn_t *c,
                                request_rec *r)
{
    const char *pf = NULL;
    int version = 0;
    apr_int64_t seq = 0;
    apr_status_t rv;

    if (c->prefix) {
        *prefix = c->prefix;
        return APR_SUCCESS;
    }
    rv = at_store_get_meta(c->store, &pf, &version, &seq, c->pool);
    if (rv == APR_NOTFOUND) {
        apitoken_db_log_down(r, "no token schema in the database "
                             "(run: apitoken init)");
        return APR_EGENERAL;
    }
    if (rv != APR_SUCCESS) {
        apitoken_db_log_down(r, at_store_error(c->store));
        return rv;
    }
    c->prefix = pf;
    *prefix = pf;
    return APR_SUCCESS;
}

apr_status_t apitoken_db_lookup(at_token_rec_t **rec, apitoken_conn_t *c,
                                const char *id, const char **err,
                                apr_pool_t *p)
{
    apr_status_t rv;

    *err = NULL;
    if (!c->fast_tried) {
        const char *why = NULL;

        /* Prepared on first use, when the schema is known to exist. */
        c->fast_tried = 1;
        rv = APR_ENOTIMPL;
        if (!apitoken_global->db_plain
            && apitoken_global->db->kind == AT_DB_SQLITE3) {
            rv = at_sqlite_fast_open(&c->fast, c->store, &why, c->pool);
        }
        ap_log_error(APLOG_MARK, why ? APLOG_NOTICE : APLOG_DEBUG, 0,
                     child.s, "APT04010: token lookups on this connection: "
                     "%s%s%s", rv == APR_SUCCESS ? "prepared SQLite statement"
                                                 : "libdbi query",
                     why ? "; the statement did not prepare: " : "",
                     why ? why : "");
    }
    if (c->fast) {
        rv = at_sqlite_fast_lookup(rec, c->fast, id, p);
        if (rv == APR_EGENERAL) {
            *err = at_sqlite_fast_error(c->fast);
        }
        return rv;
    }
    rv = at_store_lookup(rec, c->store, id, p);
    if (rv == APR_EGENERAL) {
        *err = at_store_error(c->store);
    }
    return rv;
}
