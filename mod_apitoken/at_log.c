/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The core's logger: a sink installed by the host (module or tool).  Until
 * one is installed the core is silent, so unit tests and fuzzers print
 * nothing. */
#include <stdarg.h>
#include <stdio.h>

#include "at_log.h"

static at_log_fn *log_fn;
static void *log_baton;
static at_log_level_t log_max = AT_LOG_ERR;

void at_log_set(at_log_fn *fn, void *baton, at_log_level_t max_level)
{
    log_fn = fn;
    log_baton = fn ? baton : NULL;
    log_max = fn ? max_level : AT_LOG_ERR;
}

int at_log_is_level(at_log_level_t level)
{
    return log_fn != NULL && level <= log_max;
}

void at_log_printf(at_log_level_t level, const char *file, int line,
                   const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!at_log_is_level(level)) {
        return;
    }
    va_start(ap, fmt);
    /* Truncation is acceptable: one bounded line per event. */
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, file, line, buf);
}
