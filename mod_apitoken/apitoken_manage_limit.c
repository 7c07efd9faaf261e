/* Licensed under the Apache License, Version 2.0 (see COPYING). */

#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <util_mutex.h>
#include <apr_global_mutex.h>
#include <apr_hash.h>
#include <apr_shm.h>

#include "apitoken_manage_internal.h"

APLOG_USE_MODULE(apitoken);

#define LIMIT_SLOTS     1024
#define MUTEX_TYPE      "apitoken-manage"

/* The create limit: a fixed one-minute window per account, counted in a
 * small table in anonymous shared memory under a global mutex, so every
 * process sees the same count.  A slot holds the whole account name (at
 * most AT_NAME_MAX bytes, as at_check_owner allows), so two accounts never
 * share a count; a slot is free again once its window has passed.  An
 * account is looked for in the whole table, never only at its hash's
 * place, so it cannot be given a second, fresh slot. */

typedef struct limit_slot_t {
    apr_uint32_t window;             /* minute of the count; 0 = never */
    apr_uint32_t count;
    char account[AT_NAME_MAX + 1];
} limit_slot_t;

static apr_shm_t *limit_shm;
static limit_slot_t *limit_slots;
static apr_global_mutex_t *limit_mutex;

int manage_limit_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    limit_shm = NULL;
    limit_slots = NULL;
    limit_mutex = NULL;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0)
           == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

int manage_limit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    rv = apr_shm_create(&limit_shm, sizeof(limit_slot_t) * LIMIT_SLOTS,
                        NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "APT06001: cannot "
                     "create the shared memory of the create limit");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    limit_slots = apr_shm_baseaddr_get(limit_shm);
    memset(limit_slots, 0, sizeof(limit_slot_t) * LIMIT_SLOTS);
    rv = ap_global_mutex_create(&limit_mutex, NULL, MUTEX_TYPE, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "APT06002: cannot "
                     "create the mutex of the create limit");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void manage_limit_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!limit_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&limit_mutex,
                                     apr_global_mutex_lockfile(limit_mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "APT06003: cannot attach "
                     "to the mutex of the create limit");
        limit_mutex = NULL;
    }
}

/* The slot of account in the current window: its own if it has one, else
 * a free one (reset), else NULL when every slot counts another account
 * this minute.  Called under limit_mutex. */
static limit_slot_t *limit_slot(const char *account, apr_uint32_t window)
{
    apr_ssize_t klen = APR_HASH_KEY_STRING;
    apr_uint32_t start = apr_hashfunc_default(account, &klen) % LIMIT_SLOTS;
    limit_slot_t *free_slot = NULL;
    apr_uint32_t i;

    for (i = 0; i < LIMIT_SLOTS; i++) {
        limit_slot_t *slot = &limit_slots[(start + i) % LIMIT_SLOTS];

        if (slot->window != window) {
            if (!free_slot) {
                free_slot = slot;
            }
        }
        else if (!strcmp(slot->account, account)) {
            return slot;
        }
    }
    if (free_slot) {
        free_slot->window = window;
        free_slot->count = 0;
        memcpy(free_slot->account, account, strlen(account) + 1);
    }
    return free_slot;
}

/* 0 when the account may create one more token now (and counts it), else
 * the seconds until it may. */
int manage_limit_take(request_rec *r, const char *account, int limit)
{
    apr_time_t now = apr_time_sec(apr_time_now());
    apr_uint32_t window = (apr_uint32_t)(now / 60);
    limit_slot_t *slot;
    int wait = 0;

    if (limit <= 0) {
        return 0;
    }
    if (!limit_slots || !limit_mutex || strlen(account) > AT_NAME_MAX
        || apr_global_mutex_lock(limit_mutex) != APR_SUCCESS) {
        /* Without the table, fail closed: a create limit that silently
         * vanished would be worse than a refused create. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06004: create limit "
                      "unavailable; refusing the create");
        return 60;
    }
    if ((slot = limit_slot(account, window)) == NULL) {
        /* Full: refusing is the only answer that cannot hand out another
         * account's count. */
        wait = (int)(60 - now % 60);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06052: create limit "
                      "table full (%d accounts created tokens this minute); "
                      "refusing the create", LIMIT_SLOTS);
    }
    else if (slot->count >= (apr_uint32_t)limit) {
        wait = (int)(60 - now % 60);
    }
    else {
        slot->count++;
    }
    apr_global_mutex_unlock(limit_mutex);
    return wait;
}

