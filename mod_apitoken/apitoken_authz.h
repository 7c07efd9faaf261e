/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_AUTHZ_H
#define APITOKEN_AUTHZ_H

/* The authz providers (Require apitoken-scope ...). */

#include <apr_pools.h>

void apitoken_register_authz(apr_pool_t *p);

#endif
