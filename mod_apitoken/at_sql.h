/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_SQL_H
#define AT_SQL_H

/* The store's one way to build a statement (at_store_dbi.c). */

#include <apr.h>
#include <dbi/dbi.h>

#include "at_store.h"

/* Statements with typed arguments: the SQL text is a constant with one
 * '?' per argument, and the arguments say what they are.  Text is always
 * quoted by the driver, numbers are printed as numbers, and AT_SQL_K
 * inserts a constant of ours (a column list, an ORDER BY) that is never
 * data.  So no call site quotes, and no value reaches SQL unquoted.
 *
 *   r = at_sql(s, "SELECT id FROM apitoken_tokens WHERE owner = ?",
 *              AT_SQL_ARGS(AT_SQL_T(owner)));
 */
typedef struct at_sql_arg_t {
    int type;                    /* 0 ends the list */
    const char *s;
    apr_int64_t n;
} at_sql_arg_t;

#define AT_SQL_TEXT   1
#define AT_SQL_NUMBER 2
#define AT_SQL_CONST  3
#define AT_SQL_T(x) { AT_SQL_TEXT, (x), 0 }
#define AT_SQL_N(x) { AT_SQL_NUMBER, NULL, (apr_int64_t)(x) }
#define AT_SQL_K(x) { AT_SQL_CONST, (x), 0 }
#define AT_SQL_ARGS(...) \
    ((const at_sql_arg_t[]){ __VA_ARGS__, { 0, NULL, 0 } })
#define AT_SQL_NONE ((const at_sql_arg_t *)NULL)

/* Run sql with args on s's connection: the result, or NULL with the
 * reason in the driver's error (or in s->error when the arguments do not
 * match the text). */
dbi_result at_sql(at_store_t *s, const char *sql, const at_sql_arg_t *args);

#endif
