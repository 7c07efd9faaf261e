/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_LOG_H
#define AT_LOG_H

/* Logging injected into the core: the module routes it to ap_log_error, the
 * tool to stderr. The core never logs a secret; callers pass token ids only. */

typedef enum {
    AT_LOG_ERR = 0,
    AT_LOG_WARN,
    AT_LOG_INFO,
    AT_LOG_DEBUG
} at_log_level_t;

typedef void at_log_fn(void *baton, at_log_level_t level, const char *file,
                       int line, const char *msg);

/* Install the sink; NULL restores the default (silent). */
void at_log_set(at_log_fn *fn, void *baton, at_log_level_t max_level);

int at_log_is_level(at_log_level_t level);

void at_log_printf(at_log_level_t level, const char *file, int line,
                   const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define AT_LOG(level, ...) at_log_printf((level), __FILE__, __LINE__, __VA_ARGS__)

#endif
