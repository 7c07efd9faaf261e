/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The node-wide throttle of ApiTokenTrackUsage: which process writes a
 * key's (a token id, or "id scope") usage in this interval.  One anonymous
 * shared memory segment made by the parent in post_config, inherited by
 * every child: a fixed open-addressed table of key -> last write.
 *
 * Lock-free rather than a global mutex: log_transaction of every tracked
 * request asks, and a mutex would be one more lock file, one more
 * directive to size and a process that dies holding it would stall the
 * others; a compare-and-swap never blocks.  Each slot has one 64-bit word,
 * a generation (24 bits) and a time (40 bits, milliseconds since the
 * segment was made):
 *   generation 0      empty; never used since the start;
 *   odd               being filled by one process (the time: since when);
 *   even, not 0       key is valid, the time is its last write.
 * The key bytes change only while the slot is odd, so a reader that sees
 * the same even generation before and after copying the key has read a
 * whole one (a sequence lock).  A slot whose last write is an interval old
 * says nothing any more (the next use writes anyway), so it is taken for
 * another key: the table holds only the keys written in the last interval.
 *
 * The invariant that keeps "last used" right: a key is refused only when a
 * slot holding it shows a write less than an interval ago.  Every race
 * (two processes inserting the same key, a reclaimed slot) ends in a write
 * too many, never one too few; a full probe window or a key too long for a
 * slot gives -1 and the caller falls back to its per-process throttle. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "apitoken_config.h"
#include "apitoken_shm.h"
#include "apitoken_usage.h"

APLOG_USE_MODULE(apitoken);

#define SHM_KEY "apitoken_usage_shm"
#define SLOTS 8192                 /* power of two */
#define PROBE 32                   /* slots a key may live in */
#define KEY_MAX 151                /* "id scope": 12 + 1 + 129 fits */
#define BUSY_MAX_MS 10000          /* a filler that died: slot taken back */
#define TIME_BITS 40
#define TIME_MASK ((APR_UINT64_C(1) << TIME_BITS) - 1)
#define GEN_MASK ((APR_UINT64_C(1) << (64 - TIME_BITS)) - 1)
#define GEN(w) ((w) >> TIME_BITS)
#define MS(w) ((w) & TIME_MASK)
#define WORD(g, ms) ((((apr_uint64_t)(g) & GEN_MASK) << TIME_BITS) \
                     | ((apr_uint64_t)(ms) & TIME_MASK))
#define MAGIC (APR_UINT64_C(0x6170747573670001) ^ SLOTS ^ KEY_MAX)

typedef struct slot_t {
    apr_uint64_t word;
    char key[KEY_MAX + 1];
} slot_t;

typedef struct table_t {
    apr_uint64_t magic;            /* this layout */
    apr_uint64_t base;             /* apr_time_t the times count from */
    apr_uint32_t recorded[2];      /* apitoken_usage_shm_record_due */
    slot_t slot[SLOTS];
} table_t;

/* Set in the parent's post_config, inherited by the children. */
static table_t *table;

static apr_uint64_t load(const apr_uint64_t *w)
{
    return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static int cas(apr_uint64_t *w, apr_uint64_t *expect, apr_uint64_t want)
{
    return __atomic_compare_exchange_n(w, expect, want, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

/* No write in the last interval (a time ahead of now, the clock having
 * gone back, counts as none). */
static int stale(apr_uint64_t w, apr_uint64_t now, apr_uint64_t ival)
{
    return MS(w) > now || now - MS(w) >= ival;
}

/* Does slot sl, seen as w with a valid key, hold key (len + 1 bytes)? */
static int holds(const slot_t *sl, apr_uint64_t w, const char *key,
                 apr_size_t len)
{
    char copy[KEY_MAX + 1];

    memcpy(copy, sl->key, len + 1);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return GEN(load(&sl->word)) == GEN(w) && memcmp(copy, key, len + 1) == 0;
}

/* The key is in sl: write now if its last write is an interval old, and
 * say so in the slot.  -2: the slot went to another key meanwhile. */
static int take_turn(slot_t *sl, apr_uint64_t w, apr_uint64_t now,
                     apr_uint64_t ival)
{
    apr_uint64_t g = GEN(w);

    while (GEN(w) == g) {
        if (!stale(w, now, ival)) {
            return 0;
        }
        if (cas(&sl->word, &w, WORD(g, now))) {
            return 1;
        }
    }
    return -2;
}

/* Fill slot sl (seen as w: empty, stale or abandoned) with key.  1: done
 * (the caller writes), 0: another process took the slot first. */
static int fill(slot_t *sl, apr_uint64_t w, const char *key, apr_size_t len,
                apr_uint64_t now)
{
    apr_uint64_t g = GEN(w), busy, ready;

    busy = WORD(g & 1 ? g + 2 : g + 1, now);
    if (!cas(&sl->word, &w, busy)) {
        return 0;
    }
    memcpy(sl->key, key, len + 1);
    ready = GEN(busy) + 1;
    ready = WORD(ready & GEN_MASK ? ready : 2, now);
    /* A failure means the slot was thought abandoned and taken: this
     * process writes all the same. */
    cas(&sl->word, &busy, ready);
    return 1;
}

int apitoken_usage_shm_due(const char *key, apr_time_t now,
                           apr_interval_time_t interval)
{
    apr_size_t len = strlen(key);
    apr_ssize_t klen = (apr_ssize_t)len;
    apr_uint64_t ms, ival, h;
    int attempt, i, rc;

    if (!table || len > KEY_MAX || now < (apr_time_t)table->base) {
        return -1;
    }
    ms = (apr_uint64_t)(now - (apr_time_t)table->base) / 1000;
    ival = (apr_uint64_t)interval / 1000;
    h = apr_hashfunc_default(key, &klen);
    for (attempt = 0; attempt < 4; ++attempt) {
        slot_t *spare = NULL;
        apr_uint64_t spare_w = 0;

        for (i = 0; i < PROBE; ++i) {
            slot_t *sl = &table->slot[(h + (apr_uint64_t)i) & (SLOTS - 1)];
            apr_uint64_t w = load(&sl->word);

            if (GEN(w) == 0) {
                /* Slots are never emptied, so the key is not further on. */
                if (!spare) {
                    spare = sl;
                    spare_w = w;
                }
                break;
            }
            if (GEN(w) & 1) {
                if (!spare && MS(w) <= ms && ms - MS(w) > BUSY_MAX_MS) {
                    spare = sl;
                    spare_w = w;
                }
                continue;
            }
            if (holds(sl, w, key, len)) {
                rc = take_turn(sl, w, ms, ival);
                if (rc != -2) {
                    return rc;
                }
                break;                     /* retry: the slot moved on */
            }
            if (!spare && stale(w, ms, ival)) {
                spare = sl;
                spare_w = w;
            }
        }
        if (i == PROBE && !spare) {
            return -1;                     /* full here */
        }
        if (spare && fill(spare, spare_w, key, len, ms)) {
            return 1;
        }
    }
    return -1;
}

int apitoken_usage_shm_record_due(int on)
{
    apr_uint32_t no = 0;

    on = !!on;
    /* Once tracking was seen on, an untracked location changes nothing. */
    if (!table || (!on && __atomic_load_n(&table->recorded[1],
                                          __ATOMIC_ACQUIRE))) {
        return 0;
    }
    return __atomic_compare_exchange_n(&table->recorded[on], &no, 1, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static int usage_shm_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    void *data;
    int fresh;
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    rv = apitoken_node_shm(&data, &fresh, SHM_KEY, sizeof(table_t), s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "APT07003: cannot create the shared memory for the "
                     "usage throttle; each process throttles its own "
                     "last-used writes");
        table = NULL;
        return OK;
    }
    table = data;
    if (fresh || table->magic != MAGIC) {
        memset(table, 0, sizeof(*table));
        table->magic = MAGIC;
        table->base = (apr_uint64_t)apr_time_now();
        return OK;
    }
    /* Kept over a restart; the tracking state is recorded again. */
    __atomic_store_n(&table->recorded[0], 0, __ATOMIC_RELEASE);
    __atomic_store_n(&table->recorded[1], 0, __ATOMIC_RELEASE);
    return OK;
}

void apitoken_usage_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(usage_shm_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
