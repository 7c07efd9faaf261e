/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_NETS_H
#define AT_NETS_H

/* Networks as values: one address or CIDR parsed into family, address
 * bytes and prefix length, so that one list can be compared with another
 * ("is every network of this token inside the caller's?").  IPv4-mapped
 * IPv6 networks (::ffff:a.b.c.d/96+n) are read as the IPv4 network they
 * name, so the two spellings of one network compare equal.
 * No httpd headers. */

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct at_net_t {
    int v6;                     /* 0: IPv4 (4 bytes used), 1: IPv6 */
    unsigned char addr[16];     /* host bits cleared */
    int bits;                   /* prefix length */
} at_net_t;

/* Parse "ADDR" or "ADDR/BITS".  APR_EINVAL for anything else. */
apr_status_t at_net_parse(at_net_t *net, const char *text);

/* 1 when every address of inner is an address of outer. */
int at_net_within(const at_net_t *inner, const at_net_t *outer);

/* 1 when the list inner (space, comma or tab separated) allows no address
 * that the list outer does not: outer empty or NULL means any address, so
 * anything is within it; inner empty means any address, so it is within
 * only an empty outer.  A word of either list that does not parse counts
 * against inner (fail closed). */
int at_nets_within(const char *inner, const char *outer, apr_pool_t *p);

/* The longest list of networks a token may hold, bytes. */
#define AT_NETS_MAX 1024

/* Validate a list (space, comma or tab separated) of full IPv4 or IPv6
 * addresses, each optionally with "/bits": NULL with *norm the words
 * joined by one space, or a message naming the bad entry.  strict: also
 * refuse a network with host bits set (10.1.2.3/8), as for new values;
 * lists stored by earlier versions are read without it. */
const char *at_nets_check(const char **norm, const char *s, int strict,
                          apr_pool_t *p);

/* The words of a list (space, comma or tab separated) parsed, in order;
 * NULL when a word does not parse.  For lists parsed once and checked
 * often (a cached record's allowed networks). */
apr_array_header_t *at_nets_parse_list(const char *text, apr_pool_t *p);

/* 1 when the address ip (text, no prefix length) is inside one of the n
 * parsed networks, or n is 0 (any address); 0 on an unparsable ip. */
int at_nets_contain(const at_net_t *nets, int n, const char *ip);

#endif
