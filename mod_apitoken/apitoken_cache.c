/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The token cache on httpd's socache (see apitoken_cache.h for the
 * contract).  Entries are a fixed binary header followed by the record's
 * strings; they hold the store's data, never a decision. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_main.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <apr_strings.h>
#include <apr_thread_rwlock.h>
#include <apr_global_mutex.h>
#include <apr_atomic.h>
#include <apr_shm.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "at_scope.h"
#include "at_token.h"

#include "apitoken_cache.h"
#include "apitoken_status.h"
#include "apitoken_config.h"
#include "apitoken_db.h"
#include "apitoken_marker.h"

APLOG_USE_MODULE(apitoken);

#define ENTRY_MAGIC    0x41505432u   /* "APT2"; bump when the layout changes */
#define ENTRY_RECORD   1
#define ENTRY_UNKNOWN  2
/* Larger records (very long network lists) are simply not cached. */
#define ENTRY_MAX      8192
#define N_STRINGS      8

typedef struct entry_head_t {
    apr_uint32_t magic;
    apr_uint32_t kind;
    apr_int64_t seq;             /* marker seen before the lookup */
    apr_int64_t stored_at;       /* apr_time_t */
    apr_int64_t full_access;
    apr_int64_t created_at;
    apr_int64_t expires_at;
    apr_int64_t revoked_at;
    apr_int64_t prev_until;
} entry_head_t;

/* Process-wide configuration, rebuilt from pre_config on every (re)start. */
static struct {
    int off;                     /* ApiTokenCache none, or no provider */
    const char *name;            /* provider name as configured */
    const ap_socache_provider_t *prov;
    ap_socache_instance_t *inst;
    apr_global_mutex_t *mutex;   /* only when the provider needs one */
    int ready;                   /* post_config initialised it */
} cache;

/* Per child: a small direct-mapped cache in front of the shared one, so
 * that a hot token costs neither the global mutex nor a decode.  A slot
 * holds one immutable entry (one malloc'd block: record, parsed scopes,
 * their joined form) tagged with the shared entry's marker and age, and
 * is trusted by exactly the rules of the shared cache.  Readers take a
 * reference under the read lock and drop it in r->pool's cleanup, so a
 * replaced entry lives on until the last request using it ends.  Unknown
 * ids have slots of their own (a copy, no reference), under the same
 * marker and age rules, so that a client retrying a bad id costs neither
 * the global mutex nor a scan of the shared cache. */
#define L1_SLOTS 256

typedef struct l1_entry_t {
    apr_uint32_t refs;
    apr_int64_t seq;
    apr_time_t stored_at;
    at_token_rec_t rec;
    apr_array_header_t granted;
    const char *joined;
    at_verify_prep_t prep;       /* digests as bytes, networks parsed */
} l1_entry_t;

typedef struct l1_unknown_t {
    char id[AT_ID_LEN + 1];      /* "" when the slot is free */
    apr_int64_t seq;
    apr_time_t stored_at;
} l1_unknown_t;

static struct {
    apr_thread_rwlock_t *lock;   /* NULL: off in this process */
    l1_entry_t *slot[L1_SLOTS];
    l1_unknown_t unknown[L1_SLOTS];
} l1;

void apitoken_cache_pre_config(apr_pool_t *pconf)
{
    memset(&cache, 0, sizeof(cache));
    ap_mutex_register(pconf, APITOKEN_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

const char *apitoken_cache_set(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep, *name, *args = NULL;

    if (err) {
        return err;
    }
    if (cache.name || cache.off) {
        return "ApiTokenCache is already set; give it once";
    }
    if (!strcasecmp(arg, "none")) {
        cache.off = 1;
        return NULL;
    }
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->pool, arg, sep - arg) : arg;
    if (sep) {
        args = sep + 1;
    }
    cache.prov = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                    AP_SOCACHE_PROVIDER_VERSION);
    if (!cache.prov) {
        return apr_psprintf(cmd->pool, "ApiTokenCache: unknown socache "
                            "provider '%s' (load mod_socache_%s before "
                            "mod_apitoken, or say none)", name, name);
    }
    err = cache.prov->create(&cache.inst, args, cmd->temp_pool, cmd->pool);
    if (err) {
        return apr_psprintf(cmd->pool, "ApiTokenCache %s: %s", name, err);
    }
    cache.name = name;
    return NULL;
}

static apr_status_t cache_destroy(void *data)
{
    server_rec *s = data;

    if (cache.ready && cache.inst) {
        cache.prov->destroy(cache.inst, s);
    }
    cache.ready = 0;
    cache.inst = NULL;
    return APR_SUCCESS;
}

apr_status_t apitoken_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                        server_rec *s)
{
    struct ap_socache_hints hints;
    const char *err;
    apr_status_t rv;

    apitoken_marker_reset();
    if (cache.off || !apitoken_global || !apitoken_global->db) {
        return APR_SUCCESS;
    }
    rv = apitoken_marker_post_config(s);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!cache.prov) {
        cache.prov = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                        AP_SOCACHE_PROVIDER_VERSION);
        if (!cache.prov) {
            /* The default needs mod_socache_shmcb; without it every
             * request asks the database, as with ApiTokenCacheTTL 0. */
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         "APT05001: token cache off: mod_socache_shmcb is "
                         "not loaded (load it, or set ApiTokenCache)");
            cache.off = 1;
            return APR_SUCCESS;
        }
        cache.name = "shmcb";
        err = cache.prov->create(&cache.inst, NULL, ptemp, pconf);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "APT05002: ApiTokenCache shmcb: %s", err);
            return APR_EGENERAL;
        }
    }
    if (cache.prov->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache.mutex, NULL, APITOKEN_CACHE_MUTEX,
                                    NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "APT05003: cannot create the %s mutex",
                         APITOKEN_CACHE_MUTEX);
            return rv;
        }
    }
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = AT_ID_LEN;
    hints.avg_obj_size = 320;
    hints.expiry_interval = apr_time_from_sec(30);
    rv = cache.prov->init(cache.inst, APITOKEN_CACHE_MUTEX, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "APT05004: cannot initialise the %s token cache",
                     cache.name);
        return rv;
    }
    cache.ready = 1;
    apr_pool_cleanup_register(pconf, s, cache_destroy,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

static void l1_unref(l1_entry_t *e)
{
    if (e && apr_atomic_dec32(&e->refs) == 0) {
        free(e);
    }
}

static apr_status_t l1_release(void *data)
{
    l1_unref(data);
    return APR_SUCCESS;
}

static apr_status_t l1_destroy(void *unused)
{
    int i;

    for (i = 0; i < L1_SLOTS; ++i) {
        l1_unref(l1.slot[i]);
        l1.slot[i] = NULL;
    }
    l1.lock = NULL;
    return APR_SUCCESS;
}

static unsigned int l1_index(const char *id)
{
    apr_uint32_t h = 2166136261u;     /* FNV-1a over the id */

    for (; *id; ++id) {
        h = (h ^ (unsigned char)*id) * 16777619u;
    }
    return h % L1_SLOTS;
}

/* Append a copy of src to the block at *cur; returns the copy. */
static const char *l1_copy(char **cur, const char *src)
{
    apr_size_t n = strlen(src ? src : "") + 1;
    char *dst = *cur;

    memcpy(dst, src ? src : "", n);
    *cur += n;
    return dst;
}

/* Keep rec (stored under seq at stored_at) in this process.  Records
 * whose stored scopes do not parse are not kept: the caller's own parse
 * reports them. */
static void l1_put(const at_token_rec_t *rec, apr_int64_t seq,
                   apr_time_t stored_at, apr_pool_t *p)
{
    const char *str[N_STRINGS];
    apr_array_header_t *granted;
    at_verify_prep_t prep;
    const char *joined, *bad = NULL;
    apr_size_t size;
    l1_entry_t *e, *old;
    at_net_t *net;
    int nnets;
    const char **elts;
    char *cur;
    unsigned int k;
    int i;

    if (!l1.lock || !rec
        || at_scopes_parse(&granted, rec->scopes ? rec->scopes : "", &bad,
                           p) != APR_SUCCESS) {
        return;
    }
    joined = at_scopes_join(granted, p);
    at_verify_prepare(&prep, rec, p);
    str[0] = rec->id;
    str[1] = rec->owner;
    str[2] = rec->name;
    str[3] = rec->digest;
    str[4] = rec->scopes;
    str[5] = rec->allowed_nets;
    str[6] = rec->prev_digest;
    str[7] = rec->resources;
    nnets = prep.nets_parsed ? prep.n_nets : 0;
    size = APR_ALIGN_DEFAULT(sizeof(*e))
           + APR_ALIGN_DEFAULT((apr_size_t)nnets * sizeof(at_net_t))
           + (apr_size_t)granted->nelts * sizeof(char *) + strlen(joined) + 1;
    for (i = 0; i < N_STRINGS; ++i) {
        size += strlen(str[i] ? str[i] : "") + 1;
    }
    for (i = 0; i < granted->nelts; ++i) {
        size += strlen(APR_ARRAY_IDX(granted, i, const char *)) + 1;
    }
    if (size > ENTRY_MAX * 2 || (e = malloc(size)) == NULL) {
        return;
    }
    memset(e, 0, sizeof(*e));
    net = (at_net_t *)((char *)e + APR_ALIGN_DEFAULT(sizeof(*e)));
    elts = (const char **)((char *)net
                           + APR_ALIGN_DEFAULT((apr_size_t)nnets
                                               * sizeof(at_net_t)));
    e->prep = prep;
    if (prep.nets_parsed) {
        /* A list with a word that does not parse stays unparsed: it is
         * checked as text, which fails closed. */
        memcpy(net, prep.nets, (apr_size_t)nnets * sizeof(at_net_t));
        e->prep.nets = net;
    }
    OPENSSL_cleanse(&prep, sizeof(prep));
    cur = (char *)(elts + granted->nelts);
    e->refs = 1;                      /* the slot's reference */
    e->seq = seq;
    e->stored_at = stored_at;
    e->rec = *rec;
    e->rec.id = l1_copy(&cur, str[0]);
    e->rec.owner = l1_copy(&cur, str[1]);
    e->rec.name = l1_copy(&cur, str[2]);
    e->rec.digest = l1_copy(&cur, str[3]);
    e->rec.scopes = l1_copy(&cur, str[4]);
    e->rec.allowed_nets = l1_copy(&cur, str[5]);
    e->rec.prev_digest = l1_copy(&cur, str[6]);
    e->rec.resources = l1_copy(&cur, str[7]);
    /* Not kept: never part of a decision. */
    e->rec.last_used_at = AT_TIME_NONE;
    e->rec.last_used_addr = "";
    e->rec.description = "";
    for (i = 0; i < granted->nelts; ++i) {
        elts[i] = l1_copy(&cur, APR_ARRAY_IDX(granted, i, const char *));
    }
    e->joined = l1_copy(&cur, joined);
    e->granted.pool = NULL;           /* read-only: never pushed to */
    e->granted.elt_size = sizeof(char *);
    e->granted.nelts = granted->nelts;
    e->granted.nalloc = granted->nelts;
    e->granted.elts = (char *)elts;

    k = l1_index(e->rec.id);
    apr_thread_rwlock_wrlock(l1.lock);
    old = l1.slot[k];
    l1.slot[k] = e;
    if (!strcmp(l1.unknown[k].id, e->rec.id)) {
        l1.unknown[k].id[0] = '\0';
    }
    apr_thread_rwlock_unlock(l1.lock);
    l1_unref(old);
}

/* Remember in this process that id was unknown under seq at stored_at. */
static void l1_put_unknown(const char *id, apr_int64_t seq,
                           apr_time_t stored_at)
{
    unsigned int k;
    l1_entry_t *old = NULL;

    if (!l1.lock || strlen(id) != AT_ID_LEN) {
        return;
    }
    k = l1_index(id);
    apr_thread_rwlock_wrlock(l1.lock);
    memcpy(l1.unknown[k].id, id, AT_ID_LEN + 1);
    l1.unknown[k].seq = seq;
    l1.unknown[k].stored_at = stored_at;
    if (l1.slot[k] && !strcmp(l1.slot[k]->rec.id, id)) {
        old = l1.slot[k];
        l1.slot[k] = NULL;
    }
    apr_thread_rwlock_unlock(l1.lock);
    l1_unref(old);
}

/* 1 when this process knows id to be unknown, by the shared cache's rules
 * for seq, ttl and APITOKEN_NEGATIVE_TTL. */
static int l1_is_unknown(const char *id, apr_int64_t seq, int ttl)
{
    unsigned int k = l1_index(id);
    l1_unknown_t u;
    apr_time_t age;

    if (!l1.lock) {
        return 0;
    }
    apr_thread_rwlock_rdlock(l1.lock);
    u = l1.unknown[k];
    apr_thread_rwlock_unlock(l1.lock);
    if (strcmp(u.id, id)) {
        return 0;
    }
    age = apr_time_now() - u.stored_at;
    return u.seq >= seq && age >= 0 && age < apr_time_from_sec(ttl)
           && age < apr_time_from_sec(APITOKEN_NEGATIVE_TTL);
}

/* The entry for id in this process, referenced until r->pool ends, if it
 * passes the shared cache's rules for seq and ttl. */
static l1_entry_t *l1_get(const char *id, apr_int64_t seq, int ttl,
                          request_rec *r)
{
    unsigned int k = l1_index(id);
    apr_time_t age;
    l1_entry_t *e;

    if (!l1.lock) {
        return NULL;
    }
    apr_thread_rwlock_rdlock(l1.lock);
    e = l1.slot[k];
    if (e && !strcmp(e->rec.id, id)) {
        apr_atomic_inc32(&e->refs);
    }
    else {
        e = NULL;
    }
    apr_thread_rwlock_unlock(l1.lock);
    if (!e) {
        return NULL;
    }
    age = apr_time_now() - e->stored_at;
    if (e->seq < seq || age < 0 || age >= apr_time_from_sec(ttl)) {
        l1_unref(e);
        return NULL;
    }
    apr_pool_cleanup_register(r->pool, e, l1_release,
                              apr_pool_cleanup_null);
    return e;
}

void apitoken_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!cache.ready || !apitoken_marker_ready()) {
        return;
    }
    if (cache.mutex) {
        rv = apr_global_mutex_child_init(&cache.mutex,
                                         apr_global_mutex_lockfile(
                                             cache.mutex), pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "APT05005: cannot attach the %s mutex; token "
                         "cache off in this process", APITOKEN_CACHE_MUTEX);
            cache.ready = 0;
            return;
        }
    }
    memset(&l1, 0, sizeof(l1));
    if (apr_thread_rwlock_create(&l1.lock, pchild) == APR_SUCCESS) {
        apr_pool_cleanup_register(pchild, NULL, l1_destroy,
                                  apr_pool_cleanup_null);
    }
}

int apitoken_cache_ready(void)
{
    return cache.ready;
}

static apr_status_t locked_retrieve(server_rec *s, const char *id,
                                    unsigned char *buf, unsigned int *len,
                                    apr_pool_t *p)
{
    apr_status_t rv;

    if (cache.mutex && apr_global_mutex_lock(cache.mutex) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = cache.prov->retrieve(cache.inst, s, (const unsigned char *)id,
                              (unsigned int)strlen(id), buf, len, p);
    if (cache.mutex) {
        apr_global_mutex_unlock(cache.mutex);
    }
    return rv;
}

apitoken_cache_result_t apitoken_cache_get(apitoken_entry_t *out,
                                           const char *id, apr_int64_t seq,
                                           int ttl, request_rec *r)
{
    unsigned char buf[ENTRY_MAX];
    unsigned int len = sizeof(buf);
    const char *str[N_STRINGS];
    entry_head_t h;
    at_token_rec_t *rec;
    at_verify_prep_t *prep;
    apr_time_t age;
    const char *cur, *end;
    int i;

    memset(out, 0, sizeof(*out));
    if (cache.ready && ttl > 0) {
        l1_entry_t *e = l1_get(id, seq, ttl, r);

        if (e) {
            out->rec = &e->rec;
            out->prep = &e->prep;
            out->granted = &e->granted;
            out->joined = e->joined;
            apitoken_status_add(APITOKEN_ST_CACHE_HIT, 1);
            if (APLOGrdebug(r)) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                              "APT05007: token %s found in the cache", id);
            }
            return APITOKEN_CACHE_HIT;
        }
        if (l1_is_unknown(id, seq, ttl)) {
            apitoken_status_add(APITOKEN_ST_CACHE_NEGATIVE_HIT, 1);
            if (APLOGrdebug(r)) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                              "APT05008: token %s is unknown (cached)", id);
            }
            return APITOKEN_CACHE_UNKNOWN;
        }
    }
    if (!cache.ready || ttl <= 0
        || locked_retrieve(r->server, id, buf, &len, r->pool) != APR_SUCCESS
        || len < sizeof(h)) {
        apitoken_status_add(APITOKEN_ST_CACHE_MISS, 1);
        return APITOKEN_CACHE_MISS;
    }
    memcpy(&h, buf, sizeof(h));
    age = apr_time_now() - (apr_time_t)h.stored_at;
    if (h.magic != ENTRY_MAGIC || h.seq < seq || age < 0
        || age >= apr_time_from_sec(ttl)
        || (h.kind == ENTRY_UNKNOWN
            && age >= apr_time_from_sec(APITOKEN_NEGATIVE_TTL))) {
        apitoken_status_add(APITOKEN_ST_CACHE_STALE, 1);
        return APITOKEN_CACHE_MISS;
    }
    if (h.kind == ENTRY_UNKNOWN) {
        l1_put_unknown(id, h.seq, (apr_time_t)h.stored_at);
        apitoken_status_add(APITOKEN_ST_CACHE_NEGATIVE_HIT, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "APT05008: token %s is unknown (cached)", id);
        return APITOKEN_CACHE_UNKNOWN;
    }
    if (h.kind != ENTRY_RECORD) {
        apitoken_status_add(APITOKEN_ST_CACHE_MISS, 1);
        return APITOKEN_CACHE_MISS;
    }
    cur = (const char *)buf + sizeof(h);
    end = (const char *)buf + len;
    for (i = 0; i < N_STRINGS; ++i) {
        const char *nul = memchr(cur, '\0', end - cur);
        if (!nul) {
            return APITOKEN_CACHE_MISS;
        }
        str[i] = apr_pstrmemdup(r->pool, cur, nul - cur);
        cur = nul + 1;
    }
    if (strcmp(str[0], id)) {
        apitoken_status_add(APITOKEN_ST_CACHE_MISS, 1);
        return APITOKEN_CACHE_MISS;
    }
    rec = apr_pcalloc(r->pool, sizeof(*rec));
    rec->id = str[0];
    rec->owner = str[1];
    rec->name = str[2];
    rec->digest = str[3];
    rec->scopes = str[4];
    rec->allowed_nets = str[5];
    rec->prev_digest = str[6];
    rec->resources = str[7];
    rec->full_access = h.full_access != 0;
    rec->created_at = h.created_at;
    rec->expires_at = h.expires_at;
    rec->revoked_at = h.revoked_at;
    rec->prev_until = h.prev_until;
    /* Not kept: never part of a decision. */
    rec->last_used_at = AT_TIME_NONE;
    rec->last_used_addr = "";
    rec->description = "";
    prep = apr_palloc(r->pool, sizeof(*prep));
    at_verify_prepare(prep, rec, r->pool);
    out->rec = rec;
    out->prep = prep;
    l1_put(rec, h.seq, (apr_time_t)h.stored_at, r->pool);
    apitoken_status_add(APITOKEN_ST_CACHE_HIT, 1);
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "APT05007: token %s found in the cache", id);
    }
    return APITOKEN_CACHE_HIT;
}

void apitoken_cache_put(const char *id, const at_token_rec_t *rec,
                        apr_int64_t seq, int ttl, request_rec *r)
{
    unsigned char buf[ENTRY_MAX];
    apr_size_t len = sizeof(entry_head_t);
    apr_time_t now = apr_time_now();
    int keep = ttl;
    entry_head_t h;
    int i;

    if (!cache.ready || ttl <= 0) {
        return;
    }
    memset(&h, 0, sizeof(h));
    h.magic = ENTRY_MAGIC;
    h.kind = rec ? ENTRY_RECORD : ENTRY_UNKNOWN;
    h.seq = seq;
    h.stored_at = now;
    if (rec) {
        const char *str[N_STRINGS];

        str[0] = rec->id;
        str[1] = rec->owner;
        str[2] = rec->name;
        str[3] = rec->digest;
        str[4] = rec->scopes;
        str[5] = rec->allowed_nets;
        str[6] = rec->prev_digest;
        str[7] = rec->resources;
        for (i = 0; i < N_STRINGS; ++i) {
            apr_size_t n = strlen(str[i] ? str[i] : "") + 1;
            if (len + n > sizeof(buf)) {
                return;
            }
            memcpy(buf + len, str[i] ? str[i] : "", n);
            len += n;
        }
        h.full_access = rec->full_access;
        h.created_at = rec->created_at;
        h.expires_at = rec->expires_at;
        h.revoked_at = rec->revoked_at;
        h.prev_until = rec->prev_until;
    }
    else if (keep > APITOKEN_NEGATIVE_TTL) {
        keep = APITOKEN_NEGATIVE_TTL;
    }
    if (rec) {
        l1_put(rec, seq, now, r->pool);
    }
    else {
        l1_put_unknown(id, seq, now);
    }
    memcpy(buf, &h, sizeof(h));
    if (cache.mutex && apr_global_mutex_lock(cache.mutex) != APR_SUCCESS) {
        return;
    }
    /* A full cache drops the entry; the next request asks again. */
    cache.prov->store(cache.inst, r->server, (const unsigned char *)id,
                      (unsigned int)strlen(id), now + apr_time_from_sec(keep),
                      buf, (unsigned int)len, r->pool);
    if (cache.mutex) {
        apr_global_mutex_unlock(cache.mutex);
    }
}
