/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_SCOPE_H
#define AT_SCOPE_H

#include <apr_pools.h>
#include <apr_tables.h>

/* A scope is feature[:level], each part [a-z0-9_-]{1,64}.  Upper case ASCII
 * is folded to lower case by the parser.  A granted "dns" satisfies "dns",
 * "dns:read", "dns:write"; a granted "dns:read" satisfies only "dns:read". */
#define AT_SCOPE_MAX 129

/* 1 when s (already lower case) is a valid scope. */
int at_scope_valid(const char *s);

/* Split text on spaces and commas, fold case, validate, drop duplicates and
 * scopes implied by a broader one, sort.  On a bad word returns APR_EINVAL
 * and sets *bad to it (allocated from p).  Empty text gives an empty array.
 * *out: array of const char *. */
apr_status_t at_scopes_parse(apr_array_header_t **out, const char *text,
                             const char **bad, apr_pool_t *p);

/* Normalise an array of scope strings (same rules as at_scopes_parse). */
apr_status_t at_scopes_normalise(apr_array_header_t **out,
                                 const apr_array_header_t *in,
                                 const char **bad, apr_pool_t *p);

/* Space-separated text of a normalised set ("" when empty). */
const char *at_scopes_join(const apr_array_header_t *scopes, apr_pool_t *p);

int at_scope_satisfies(const char *granted, const char *required);

/* 1 when full_access or any granted scope satisfies required. */
int at_scopes_satisfy(const apr_array_header_t *granted, int full_access,
                      const char *required);

#endif
