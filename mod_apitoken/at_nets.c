/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Network values and containment of one network list in another. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_network_io.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "at_nets.h"

static const unsigned char v4_mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static void clear_host_bits(at_net_t *n)
{
    int len = n->v6 ? 16 : 4, i;

    for (i = 0; i < len; i++) {
        int keep = n->bits - i * 8;

        if (keep <= 0) {
            n->addr[i] = 0;
        }
        else if (keep < 8) {
            n->addr[i] &= (unsigned char)(0xff << (8 - keep));
        }
    }
}

apr_status_t at_net_parse(at_net_t *net, const char *text)
{
    char addr[64];
    const char *slash;
    apr_size_t alen;
    int max;

    memset(net, 0, sizeof(*net));
    if (!text) {
        return APR_EINVAL;
    }
    slash = strchr(text, '/');
    alen = slash ? (apr_size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(addr)) {
        return APR_EINVAL;
    }
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, net->addr) == 1) {
        max = 32;
    }
    else if (inet_pton(AF_INET6, addr, net->addr) == 1) {
        net->v6 = 1;
        max = 128;
    }
    else {
        return APR_EINVAL;
    }
    net->bits = max;
    if (slash) {
        const char *d = slash + 1;
        int n = 0, digits = 0;

        while (*d >= '0' && *d <= '9' && digits < 4) {
            n = n * 10 + (*d++ - '0');
            digits++;
        }
        if (digits == 0 || *d || n > max) {
            return APR_EINVAL;
        }
        net->bits = n;
    }
    if (net->v6 && net->bits >= 96 && !memcmp(net->addr, v4_mapped, 12)) {
        memmove(net->addr, net->addr + 12, 4);
        memset(net->addr + 4, 0, 12);
        net->v6 = 0;
        net->bits -= 96;
    }
    clear_host_bits(net);
    return APR_SUCCESS;
}

int at_net_within(const at_net_t *inner, const at_net_t *outer)
{
    at_net_t cut;

    if (inner->v6 != outer->v6 || inner->bits < outer->bits) {
        return 0;
    }
    cut = *inner;
    cut.bits = outer->bits;
    clear_host_bits(&cut);
    return !memcmp(cut.addr, outer->addr, sizeof(cut.addr));
}

apr_array_header_t *at_nets_parse_list(const char *text, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(at_net_t));
    char *copy = apr_pstrdup(p, text ? text : ""), *w, *last;

    for (w = apr_strtok(copy, " ,\t", &last); w;
         w = apr_strtok(NULL, " ,\t", &last)) {
        if (at_net_parse(apr_array_push(out), w) != APR_SUCCESS) {
            return NULL;
        }
    }
    return out;
}

int at_nets_within(const char *inner, const char *outer, apr_pool_t *p)
{
    apr_array_header_t *in, *out;
    int i, j;

    if (!(out = at_nets_parse_list(outer, p))
        || !(in = at_nets_parse_list(inner, p))) {
        return 0;
    }
    if (out->nelts == 0) {
        return 1;
    }
    if (in->nelts == 0) {
        return 0;
    }
    /* Lists are at most a few hundred entries (AT_NETS_MAX). */
    for (i = 0; i < in->nelts; i++) {
        const at_net_t *n = &APR_ARRAY_IDX(in, i, at_net_t);
        int found = 0;

        for (j = 0; j < out->nelts && !found; j++) {
            found = at_net_within(n, &APR_ARRAY_IDX(out, j, at_net_t));
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

/* One allowed-network entry: a full IPv4 or IPv6 address, optionally with
 * "/bits".  APR alone would also take httpd's abbreviated forms ("10.1")
 * and dotted masks; a token's allow-list is stricter so that what is
 * listed is what is meant.  APR then checks the whole entry the way the
 * module will use it (apr_ipsubnet_test). */
static const char *check_net(const char *e, int strict, apr_pool_t *p)
{
    char *addr = apr_pstrdup(p, e);
    char *slash = strchr(addr, '/');
    const char *bits = NULL;
    unsigned char buf[sizeof(struct in6_addr)];
    apr_ipsubnet_t *sub;
    at_net_t net;
    int v6 = 0;
    long n;
    char *end;

    if (slash) {
        *slash = '\0';
        bits = slash + 1;
    }
    if (inet_pton(AF_INET, addr, buf) != 1) {
        if (inet_pton(AF_INET6, addr, buf) != 1) {
            return apr_psprintf(p, "'%s' is not an IPv4 or IPv6 address",
                                addr);
        }
        v6 = 1;
    }
    if (bits) {
        if (!apr_isdigit(*bits)) {
            return apr_psprintf(p, "'%s' has a bad prefix length", e);
        }
        n = strtol(bits, &end, 10);
        if (*end != '\0' || n < 0 || n > (v6 ? 128 : 32)
            || strlen(bits) > 3) {
            return apr_psprintf(p, "'%s' has a bad prefix length", e);
        }
        if (n == 0) {
            /* APR refuses it; an empty list already means any address. */
            return apr_psprintf(p, "'%s' matches every address (leave the"
                                " list empty for that)", e);
        }
    }
    if (apr_ipsubnet_create(&sub, addr, bits, p) != APR_SUCCESS) {
        return apr_psprintf(p, "'%s' is not a valid network", e);
    }
    if (strict && bits && at_net_parse(&net, e) == APR_SUCCESS
        && net.v6 == v6
        && memcmp(net.addr, buf, v6 ? 16 : 4)) {
        /* 10.1.2.3/8 would be stored as typed and read as 10.0.0.0/8: say
         * which was meant instead of guessing. */
        char text[INET6_ADDRSTRLEN];

        inet_ntop(v6 ? AF_INET6 : AF_INET, net.addr, text, sizeof(text));
        return apr_psprintf(p, "'%s' has host bits set (the network is "
                            "%s/%s; for one address leave out the prefix "
                            "length)", e, text, bits);
    }
    return NULL;
}

const char *at_nets_check(const char **norm, const char *s, int strict,
                          apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    char *copy, *tok, *last;
    const char *why;
    char *joined;
    apr_size_t n = 0;

    *norm = "";
    if (s == NULL) {
        return NULL;
    }
    if (strlen(s) > AT_NETS_MAX) {
        return "the list of networks is longer than 1024 bytes";
    }
    copy = apr_pstrdup(p, s);
    for (tok = apr_strtok(copy, " ,\t", &last); tok != NULL;
         tok = apr_strtok(NULL, " ,\t", &last)) {
        if ((why = check_net(tok, strict, p)) != NULL) {
            return why;
        }
        APR_ARRAY_PUSH(out, const char *) = tok;
        /* Bounded by the input length: at most 512 entries. */
        if (++n > AT_NETS_MAX / 2) {
            return "too many networks";
        }
    }
    joined = apr_array_pstrcat(p, out, ' ');
    *norm = joined;
    return NULL;
}

int at_nets_contain(const at_net_t *nets, int n, const char *ip)
{
    at_net_t client;
    int i;

    if (!ip || strchr(ip, '/') || at_net_parse(&client, ip) != APR_SUCCESS) {
        return 0;
    }
    if (n == 0) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (at_net_within(&client, &nets[i])) {
            return 1;
        }
    }
    return 0;
}
