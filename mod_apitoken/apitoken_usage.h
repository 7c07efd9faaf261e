/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_USAGE_H
#define APITOKEN_USAGE_H

/* Last-use and scope-usage tracking (ApiTokenTrackUsage). */

#include <httpd.h>

int apitoken_log_transaction(request_rec *r);
void apitoken_usage_child_init(apr_pool_t *pchild);

#endif
