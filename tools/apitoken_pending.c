/* TEMPORARY: weak stand-ins until at_dburl.c and at_verify.c land. */
#include <string.h>
#include <apr_strings.h>
#include "at_dburl.h"
#include "at_verify.h"
__attribute__((weak)) apr_status_t at_dburl_parse(at_dburl_t **out, const char *url, const char **err, apr_pool_t *p);
__attribute__((weak)) apr_status_t at_dburl_parse(at_dburl_t **out, const char *url, const char **err, apr_pool_t *p) {
    at_dburl_t *u; const char *path, *slash;
    if (strncmp(url, "sqlite3://", 10)) { *err = "pending"; return APR_EINVAL; }
    path = url + 10; slash = strrchr(path, '/');
    u = apr_pcalloc(p, sizeof(*u)); u->kind = AT_DB_SQLITE3; u->driver = "sqlite3";
    u->path = path; u->dbname = slash + 1; u->sqlite_dir = apr_pstrmemdup(p, path, slash - path);
    u->timeout_ms = 5000; u->redacted = url; *out = u; return APR_SUCCESS; }
__attribute__((weak)) const char *at_reason_str(at_reason_t r);
__attribute__((weak)) const char *at_reason_str(at_reason_t r) { return "pending"; }
__attribute__((weak)) at_reason_t at_reason_from_parse(at_token_status_t st);
__attribute__((weak)) at_reason_t at_reason_from_parse(at_token_status_t st) { return AT_REASON_MALFORMED; }
__attribute__((weak)) at_reason_t at_verify_record(const at_token_rec_t *rec, const at_token_t *tok, at_time_t now, const char *client_ip, const char *user, apr_pool_t *p);
__attribute__((weak)) at_reason_t at_verify_record(const at_token_rec_t *rec, const at_token_t *tok, at_time_t now, const char *client_ip, const char *user, apr_pool_t *p) { return AT_REASON_MALFORMED; }
