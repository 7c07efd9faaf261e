/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_TIME_H
#define AT_TIME_H

#include <apr.h>
#include <apr_errno.h>

/* Times are epoch seconds, UTC.  AT_TIME_NONE (0) means "never" / "not set". */
typedef apr_int64_t at_time_t;
#define AT_TIME_NONE ((at_time_t)0)
#define AT_TIME_STRLEN 20   /* "2026-12-31T23:59:59Z" */

at_time_t at_time_now(void);

/* Parse an expiry or cut-off:
 *   "never"                         -> AT_TIME_NONE
 *   "+30d" "+12h" "+90m" "+45s" "+2w" -> now + duration
 *   "2026-12-31"                    -> 2026-12-31T23:59:59Z (end of day)
 *   "2026-12-31T12:00[:00][Z|+02:00|-0500]" (also ' ' instead of 'T')
 * No zone means UTC.  On error returns APR_EINVAL and *err says why. */
apr_status_t at_time_parse(at_time_t *out, const char *s, at_time_t now,
                           const char **err);

/* "30d", "12h", "90m", "45s", "2w" (a leading '+' allowed) -> seconds. */
apr_status_t at_duration_parse(apr_int64_t *secs, const char *s,
                               const char **err);

/* "YYYY-MM-DDTHH:MM:SSZ" into buf (AT_TIME_STRLEN + 1 bytes). */
void at_time_format(char *buf, at_time_t t);

#endif
