/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* UTC time parsing and formatting.  Calendar arithmetic is done here
 * (days from civil, proleptic Gregorian) so the result never depends on
 * the process time zone or on mktime. */
#include <string.h>

#include <apr_time.h>

#include "at_time.h"

#define MIN_YEAR 1970
#define MAX_YEAR 9999
/* 9999-12-31T23:59:59Z */
#define MAX_TIME ((at_time_t)253402300799LL)
/* Relative durations are capped at 100 years (of 366 days). */
#define MAX_DURATION ((apr_int64_t)100 * 366 * 86400)

at_time_t at_time_now(void)
{
    return (at_time_t)apr_time_sec(apr_time_now());
}

/* Days since 1970-01-01 of y-m-d (Howard Hinnant's days_from_civil). */
static apr_int64_t days_from_civil(apr_int64_t y, unsigned m, unsigned d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(apr_int64_t z, apr_int64_t *y, unsigned *m,
                            unsigned *d)
{
    apr_int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(apr_int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(apr_int64_t y, unsigned m)
{
    static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31 };

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Exactly n decimal digits at s; -1 when any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

apr_status_t at_duration_parse(apr_int64_t *secs, const char *s,
                               const char **err)
{
    apr_int64_t n = 0, unit;
    const char *p = s;

    *secs = 0;
    if (s == NULL || !*s) {
        *err = "empty duration";
        return APR_EINVAL;
    }
    if (*p == '+') {
        p++;
    }
    if (*p < '0' || *p > '9') {
        *err = "a duration is a number followed by s, m, h, d or w (e.g. 30d)";
        return APR_EINVAL;
    }
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        /* Stop early: anything past the cap is refused, and the bound keeps
         * the accumulator far from overflow. */
        if (n > MAX_DURATION) {
            *err = "duration too long (at most 100 years)";
            return APR_EINVAL;
        }
        p++;
    }
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    case '\0':
        if (n == 0 && p != s && p[-1] == '0') {
            /* Zero is zero in any unit ("--grace 0": no grace). */
            *secs = 0;
            return APR_SUCCESS;
        }
        *err = "duration needs a unit: s, m, h, d or w (e.g. 30d)";
        return APR_EINVAL;
    default:
        *err = "unknown duration unit (use s, m, h, d or w)";
        return APR_EINVAL;
    }
    if (p[1] != '\0') {
        *err = "trailing characters after the duration";
        return APR_EINVAL;
    }
    if (n > MAX_DURATION / unit) {
        *err = "duration too long (at most 100 years)";
        return APR_EINVAL;
    }
    *secs = n * unit;
    return APR_SUCCESS;
}

/* Zone suffix: Z, +HH, +HHMM or +HH:MM (or '-').  *off in seconds east. */
static apr_status_t parse_zone(apr_int64_t *off, const char *z,
                               const char **err)
{
    int hh, mm = 0, sign;

    *off = 0;
    if (*z == '\0' || ((*z == 'Z' || *z == 'z') && z[1] == '\0')) {
        return APR_SUCCESS;
    }
    if (*z != '+' && *z != '-') {
        *err = "unexpected characters after the time (zone must be Z, "
               "+HH:MM or -HHMM)";
        return APR_EINVAL;
    }
    sign = *z == '-' ? -1 : 1;
    z++;
    if ((hh = digits(z, 2)) < 0) {
        *err = "bad time zone offset (use Z, +HH:MM or -HHMM)";
        return APR_EINVAL;
    }
    z += 2;
    if (*z == ':') {
        z++;
        if ((mm = digits(z, 2)) < 0 || z[2] != '\0') {
            *err = "bad time zone offset (use Z, +HH:MM or -HHMM)";
            return APR_EINVAL;
        }
    }
    else if (*z != '\0') {
        if ((mm = digits(z, 2)) < 0 || z[2] != '\0') {
            *err = "bad time zone offset (use Z, +HH:MM or -HHMM)";
            return APR_EINVAL;
        }
    }
    if (hh > 14 || mm > 59 || (hh == 14 && mm > 0)) {
        *err = "time zone offset out of range (-14:00 to +14:00)";
        return APR_EINVAL;
    }
    *off = sign * (apr_int64_t)(hh * 3600 + mm * 60);
    return APR_SUCCESS;
}

static apr_status_t parse_absolute(at_time_t *out, const char *s,
                                   const char **err)
{
    int year, mon, day, hh = 0, mi = 0, ss = 0;
    apr_int64_t off = 0, t;
    const char *p = s;

    year = digits(p, 4);
    if (year < 0 || p[4] != '-' || (mon = digits(p + 5, 2)) < 0
        || p[7] != '-' || (day = digits(p + 8, 2)) < 0) {
        *err = "expected a date YYYY-MM-DD, a date-time "
               "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], +N(s|m|h|d|w) or never";
        return APR_EINVAL;
    }
    p += 10;
    if (year < MIN_YEAR || year > MAX_YEAR) {
        *err = "year out of range (1970 to 9999)";
        return APR_EINVAL;
    }
    if (mon < 1 || mon > 12) {
        *err = "month out of range (01 to 12)";
        return APR_EINVAL;
    }
    if (day < 1 || (unsigned)day > days_in_month(year, (unsigned)mon)) {
        *err = "day out of range for that month";
        return APR_EINVAL;
    }
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((hh = digits(p, 2)) < 0 || p[2] != ':'
            || (mi = digits(p + 3, 2)) < 0) {
            *err = "expected a time HH:MM or HH:MM:SS after the date";
            return APR_EINVAL;
        }
        p += 5;
        if (*p == ':') {
            if ((ss = digits(p + 1, 2)) < 0) {
                *err = "expected two digits of seconds";
                return APR_EINVAL;
            }
            p += 3;
        }
        if (hh > 23) {
            *err = "hour out of range (00 to 23)";
            return APR_EINVAL;
        }
        if (mi > 59) {
            *err = "minute out of range (00 to 59)";
            return APR_EINVAL;
        }
        if (ss > 59) {
            *err = "second out of range (00 to 59)";
            return APR_EINVAL;
        }
        if (parse_zone(&off, p, err) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    else if (*p != '\0') {
        *err = "unexpected characters after the date";
        return APR_EINVAL;
    }
    else {
        /* A bare date is the whole of that day: a token that expires on
         * 2026-12-31 works until 23:59:59Z, as the page says. */
        hh = 23;
        mi = 59;
        ss = 59;
    }
    t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400
        + hh * 3600 + mi * 60 + ss - off;
    /* 0 means "never", so the epoch itself cannot be a date. */
    if (t <= 0 || t > MAX_TIME) {
        *err = "time out of range (after 1970-01-01T00:00:00Z, "
               "before 10000-01-01)";
        return APR_EINVAL;
    }
    *out = t;
    return APR_SUCCESS;
}

apr_status_t at_time_parse(at_time_t *out, const char *s, at_time_t now,
                           const char **err)
{
    *out = AT_TIME_NONE;
    if (s == NULL || !*s) {
        *err = "empty date";
        return APR_EINVAL;
    }
    if (strcmp(s, "never") == 0) {
        return APR_SUCCESS;
    }
    if (*s == '+') {
        apr_int64_t secs;

        if (at_duration_parse(&secs, s, err) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        if (secs == 0) {
            *err = "a relative time must be in the future (+0 given)";
            return APR_EINVAL;
        }
        if (now < 0 || now > MAX_TIME - secs) {
            *err = "time out of range (before 10000-01-01)";
            return APR_EINVAL;
        }
        *out = now + secs;
        return APR_SUCCESS;
    }
    return parse_absolute(out, s, err);
}

void at_time_format(char *buf, at_time_t t)
{
    apr_int64_t y, days, rem;
    unsigned m, d;

    /* Clamp so the output always has the fixed width. */
    if (t < 0) {
        t = 0;
    }
    if (t > MAX_TIME) {
        t = MAX_TIME;
    }
    days = t / 86400;
    rem = t % 86400;
    civil_from_days(days, &y, &m, &d);
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = 'T';
    buf[11] = (char)('0' + rem / 36000);
    buf[12] = (char)('0' + rem / 3600 % 10);
    buf[13] = ':';
    buf[14] = (char)('0' + rem % 3600 / 600);
    buf[15] = (char)('0' + rem % 3600 / 60 % 10);
    buf[16] = ':';
    buf[17] = (char)('0' + rem % 60 / 10);
    buf[18] = (char)('0' + rem % 10);
    buf[19] = 'Z';
    buf[20] = '\0';
}
