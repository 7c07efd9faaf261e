/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_USAGE_H
#define APITOKEN_USAGE_H

/* Last-use and scope-usage tracking (ApiTokenTrackUsage). */

#include <httpd.h>

int apitoken_log_transaction(request_rec *r);
void apitoken_usage_child_init(apr_pool_t *pchild);

/* apitoken_usage_shm.c: the node-wide usage throttle. */
/* Should this process write key's usage now?  1 yes (and no other process
 * of the node will until interval has passed), 0 no (one wrote less than
 * interval ago), -1 cannot say (no segment, key too long, no room): the
 * caller throttles by itself. */
int apitoken_usage_shm_due(const char *key, apr_time_t now,
                           apr_interval_time_t interval);
/* Should this request record in the store that tracking is on (on) or off
 * where it went?  1 for one caller of each kind on the node after each
 * (re)start, except that off is not recorded once on was. */
int apitoken_usage_shm_record_due(int on);
void apitoken_usage_register_hooks(apr_pool_t *p);

#endif
