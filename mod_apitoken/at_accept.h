/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_ACCEPT_H
#define AT_ACCEPT_H

/* Content negotiation for our error bodies: does a request's Accept header
 * ask for JSON rather than HTML?  Pure function, no httpd headers. */

/* 1 when accept (an Accept field value, repeated fields joined with ",";
 * NULL or "" when absent) gives application/json a quality above 0, by a
 * range that names it (application/json, with any parameters, or the
 * application wildcard), that is at least the quality of text/html.  Each
 * media type takes its quality from the most specific range that matches
 * it (RFC 9110, 12.5.1); among equally specific ranges the highest quality
 * counts.  The full wildcard alone, as curl and browsers send it, is not a
 * request for JSON.  Malformed elements (no type/subtype, a bad q value)
 * are ignored; quoted parameter values may hold commas and semicolons. */
int at_accept_wants_json(const char *accept);

#endif
