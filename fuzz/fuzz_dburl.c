/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: the database URL parser.  Inputs that name a
 * password_file are skipped so the fuzzer never opens arbitrary files
 * (a FIFO or /dev/stdin would block); the unit tests cover that path. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_dburl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *url = fuzz_cstr(data, size, p);
    at_dburl_t *u = NULL;
    const char *err = NULL;

    if (strstr(url, "password_file") != NULL) {
        return 0;
    }
    if (at_dburl_parse(&u, url, &err, p) != APR_SUCCESS) {
        FUZZ_ASSERT(u == NULL && err != NULL);
        return 0;
    }
    FUZZ_ASSERT(u->driver != NULL && u->redacted != NULL);
    FUZZ_ASSERT(u->dbname != NULL && u->dbname[0] != '\0');
    if (u->kind == AT_DB_SQLITE3) {
        FUZZ_ASSERT(u->path != NULL && u->path[0] == '/');
        FUZZ_ASSERT(u->sqlite_dir != NULL && u->sqlite_dir[0] == '/');
        FUZZ_ASSERT(u->host == NULL && u->password == NULL);
        FUZZ_ASSERT(u->timeout_ms >= 0);
    }
    else {
        FUZZ_ASSERT(u->host != NULL && u->host[0] != '\0');
        FUZZ_ASSERT(u->port >= 0 && u->port <= 65535);
        FUZZ_ASSERT(u->user == NULL || u->user[0] != '\0');
        /* A password in the URL is always masked in the redacted form. */
        FUZZ_ASSERT(u->password == NULL
                    || strstr(u->redacted, ":***@") != NULL);
    }
    return 0;
}
