/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* apitoken: the admin tool.  One static table of commands drives option
 * parsing, dispatch and --help; the handlers live in apitoken_cmd.c. */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "config.h"
#include "at_log.h"
#include "at_dburl.h"
#include "at_store_dbi.h"
#include "apitoken.h"
#include "apitoken_opts.h"

int at_cli_fail(at_cli_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    char buf[1024], *p;

    va_start(ap, fmt);
    apr_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* Driver messages may hold newlines or tabs: keep it one line. */
    for (p = buf; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *p = ' ';
        }
    }
    if (c && c->out) {
        fflush(c->out);
    }
    fprintf(stderr, "apitoken: %s\n", buf);
    return code;
}

/* The core's log lines go to stderr only with --verbose, so that an error
 * stays one line by default. */
static void log_sink(void *baton, at_log_level_t level, const char *file,
                     int line, const char *msg)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };

    fprintf(stderr, "apitoken: [%s] %s\n", names[level & 3], msg);
}

int at_cli_open(at_cli_t *c, int create, int need_schema)
{
    at_dburl_t *url;
    const char *err = NULL, *prefix = NULL;
    int version = 0;
    apr_int64_t seq = 0;
    apr_status_t rv;

    if (!c->db_url || !*c->db_url) {
        return at_cli_fail(c, AT_EXIT_USAGE,
                           "no database: give --db URL or set APITOKEN_DB");
    }
    if (at_dburl_parse(&url, c->db_url, &err, c->pool) != APR_SUCCESS) {
        /* The URL may hold a password: name the bad part only. */
        return at_cli_fail(c, AT_EXIT_USAGE, "invalid database URL: %s",
                           err ? err : "unparsable");
    }
    if (!create && url->kind == AT_DB_SQLITE3 && url->path
        && access(url->path, F_OK) != 0 && errno == ENOENT) {
        return at_cli_fail(c, AT_EXIT_DB, "database file %s does not exist "
                           "(run apitoken init)",
                           at_ops_quote(url->path, c->pool));
    }
    if (at_dbi_init(&c->inst, NULL, &err) != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_DB, "cannot load libdbi drivers: %s",
                           err ? err : "unknown error");
    }
    c->dbi_ready = 1;
    if (at_store_dbi_open(&c->store, c->inst, url,
                          create ? AT_STORE_CREATE : 0, &err, c->pool)
        != APR_SUCCESS) {
        c->store = NULL;
        if (err && strstr(err, url->redacted)) {
            return at_cli_fail(c, AT_EXIT_DB, "%s", err);
        }
        return at_cli_fail(c, AT_EXIT_DB, "cannot open database %s: %s",
                           url->redacted, err ? err : "unknown error");
    }
    if (!need_schema) {
        return AT_EXIT_OK;
    }
    rv = at_store_get_meta(c->store, &prefix, &version, &seq, c->pool);
    if (rv == APR_NOTFOUND) {
        return at_cli_fail(c, AT_EXIT_DB, "database %s has no token schema "
                           "(run apitoken init)", url->redacted);
    }
    if (rv != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_DB, "cannot read schema of %s: %s",
                           url->redacted, at_store_error(c->store));
    }
    if (version < AT_SCHEMA_VERSION) {
        return at_cli_fail(c, AT_EXIT_DB, "schema version %d of %s is old "
                           "(run apitoken init to upgrade)", version,
                           url->redacted);
    }
    if (version > AT_SCHEMA_VERSION) {
        return at_cli_fail(c, AT_EXIT_DB, "schema version %d of %s is newer "
                           "than this tool (%d)", version, url->redacted,
                           AT_SCHEMA_VERSION);
    }
    c->schema_prefix = prefix && *prefix ? prefix : AT_DEFAULT_PREFIX;
    return AT_EXIT_OK;
}

int at_cli_store_fail(at_cli_t *c, apr_status_t rv, const char *what,
                      const char *id)
{
    int code;

    if (rv == APR_NOTFOUND) {
        code = at_cli_fail(c, AT_EXIT_NOTFOUND, "no token with id %s",
                           at_ops_quote(id, c->pool));
    }
    else if (rv == APR_EEXIST) {
        code = at_cli_fail(c, AT_EXIT_NOTFOUND, "%s: name already exists "
                           "for this owner", what);
    }
    else if (rv == APR_EINVAL) {
        code = at_cli_fail(c, AT_EXIT_USAGE, "%s: invalid value: %s", what,
                           at_store_error(c->store));
    }
    else {
        code = at_cli_fail(c, AT_EXIT_DB, "database error during %s: %s",
                           what, at_store_error(c->store));
    }
    return code;
}

/* "CMD: " before an option error, or nothing before the command is known
 * (the line already starts with "apitoken: "). */
static const char *who(const at_cli_t *c)
{
    return c->cmd ? apr_pstrcat(c->pool, c->cmd, ": ", NULL) : "";
}

/* The help to point at: the command's, or the tool's. */
static const char *help_hint(const at_cli_t *c)
{
    return c->cmd ? apr_psprintf(c->pool, "apitoken %s --help", c->cmd)
                  : "apitoken --help";
}

/* apr_getopt reports through this; keep the text for one error line. */
static void getopt_err(void *baton, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void getopt_err(void *baton, const char *fmt, ...)
{
    char *buf = baton;
    va_list ap;
    apr_size_t n;

    va_start(ap, fmt);
    apr_vsnprintf(buf, 256, fmt, ap);
    va_end(ap);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
}

static int set_once(at_cli_t *c, const char **slot, const char *name,
                    const char *val)
{
    if (*slot) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%soption --%s given twice",
                           who(c), name);
    }
    *slot = val;
    return AT_EXIT_OK;
}

static int take_opt(at_cli_t *c, int id, const char *arg)
{
    const at_opt_t *o = at_cli_find_opt(id);

    switch (id) {
    case OPT_DB:          c->db_url = arg; return 0;
    case OPT_JSON:        c->json = 1; return 0;
    case OPT_ACTOR:       c->actor = arg; return 0;
    case OPT_CATALOGUE:   c->catalogue = arg; return 0;
    case OPT_VERBOSE:     c->verbose = 1; return 0;
    case OPT_PREFIX:      return set_once(c, &c->prefix, o->name, arg);
    case OPT_OWNER:       return set_once(c, &c->owner, o->name, arg);
    case OPT_NAME:        return set_once(c, &c->name, o->name, arg);
    case OPT_EXPIRES:     return set_once(c, &c->expires, o->name, arg);
    case OPT_DESCRIPTION: return set_once(c, &c->description, o->name, arg);
    case OPT_STATUS:      return set_once(c, &c->status, o->name, arg);
    case OPT_GRACE:       return set_once(c, &c->grace, o->name, arg);
    case OPT_BEFORE:      return set_once(c, &c->before, o->name, arg);
    case OPT_FROM:        return set_once(c, &c->from, o->name, arg);
    case OPT_USER:        return set_once(c, &c->user, o->name, arg);
    case OPT_SCOPE:       APR_ARRAY_PUSH(c->scopes, const char *) = arg;
                          return 0;
    case OPT_ADD:         APR_ARRAY_PUSH(c->add, const char *) = arg;
                          return 0;
    case OPT_REMOVE:      APR_ARRAY_PUSH(c->remove, const char *) = arg;
                          return 0;
    case OPT_ALLOW_IP:    APR_ARRAY_PUSH(c->nets, const char *) = arg;
                          return 0;
    case OPT_RESOURCE:    APR_ARRAY_PUSH(c->resources, const char *) = arg;
                          return 0;
    case OPT_ADD_RESOURCE:
        APR_ARRAY_PUSH(c->add_resources, const char *) = arg;
        return 0;
    case OPT_REMOVE_RESOURCE:
        APR_ARRAY_PUSH(c->remove_resources, const char *) = arg;
        return 0;
    case OPT_ANY_RESOURCE: c->any_resource = 1; return 0;
    case OPT_FULL:        c->full_access = 1; return 0;
    case OPT_ALL:         c->all = 1; return 0;
    case OPT_REASON:      return set_once(c, &c->reason, o->name, arg);
    case OPT_UNUSED_SCOPES:
        return set_once(c, &c->unused_scopes, o->name, arg);
    case OPT_UNUSED:      return set_once(c, &c->unused, o->name, arg);
    case OPT_EXPIRING:    return set_once(c, &c->expiring, o->name, arg);
    case OPT_RESTRICTED:  c->restricted = 1; return 0;
    case OPT_ANY_ADDRESS: c->any_address = 1; return 0;
    case OPT_FORCE:       c->force = 1; return 0;
    case OPT_DRY_RUN:     c->dry_run = 1; return 0;
    case OPT_SINCE:       return set_once(c, &c->since, o->name, arg);
    case OPT_ACTION:      return set_once(c, &c->action, o->name, arg);
    case OPT_WITHIN:      return set_once(c, &c->within, o->name, arg);
    default:
        return at_cli_fail(c, AT_EXIT_USAGE, "%sunexpected option", who(c));
    }
}

static const char stdin_marker[] = "\x7f-";

/* Build the apr_getopt table for the global options plus ids. */
static apr_getopt_option_t *getopt_table(const int *ids, apr_pool_t *p)
{
    apr_getopt_option_t *t = apr_pcalloc(p, sizeof(*t) * 32);
    const int *lists[2];
    int i = 0, l;

    lists[0] = at_cli_global_opts;
    lists[1] = ids;
    for (l = 0; l < 2; l++) {
        const int *id;

        for (id = lists[l]; *id; id++) {
            const at_opt_t *o = at_cli_find_opt(*id);

            t[i].name = o->name;
            t[i].optch = o->id;
            t[i].has_arg = o->arg != NULL;
            t[i].description = o->help;
            i++;
        }
    }
    return t;
}

/* Parse argv[0..argc) (argv[0] names the command or the program).
 * interleave: options may follow positional arguments. */
static int parse_opts(at_cli_t *c, int argc, const char *const *argv,
                      const int *ids, int interleave, int *help,
                      int *next)
{
    apr_getopt_t *os;
    apr_getopt_option_t *table = getopt_table(ids, c->pool);
    char errbuf[256];
    apr_status_t rv;
    int optch, code;
    const char *arg;

    /* apr_getopt takes a lone "-" (stdin) for an option: hide it behind a
     * marker while parsing. */
    if (interleave) {
        const char **copy = apr_pmemdup(c->pool, argv,
                                        sizeof(*argv) * (argc + 1));
        int i;

        for (i = 1; i < argc; i++) {
            if (!strcmp(copy[i], "-")) {
                copy[i] = stdin_marker;
            }
        }
        argv = copy;
    }
    apr_getopt_init(&os, c->pool, argc, argv);
    os->interleave = interleave;
    os->errfn = getopt_err;
    os->errarg = errbuf;
    errbuf[0] = '\0';
    while ((rv = apr_getopt_long(os, table, &optch, &arg)) == APR_SUCCESS) {
        if (optch == OPT_HELP) {
            *help = 1;
            continue;
        }
        if ((code = take_opt(c, optch, arg)) != AT_EXIT_OK) {
            return code;
        }
    }
    if (rv != APR_EOF) {
        /* errbuf is "PROG: what: option"; reword it as our one line. */
        const char *what = strchr(errbuf, ':');
        const char *opt = what ? strchr(what + 1, ':') : NULL;

        if (what && opt && !strncmp(what + 2, "missing argument", 16)) {
            return at_cli_fail(c, AT_EXIT_USAGE, "%soption %s needs a "
                               "value (see '%s')", who(c),
                               at_ops_quote(opt + 2, c->pool), help_hint(c));
        }
        if (what && opt) {
            return at_cli_fail(c, AT_EXIT_USAGE, "%s%.*s %s (see '%s')",
                               who(c), (int)(opt - what - 2), what + 2,
                               at_ops_quote(opt + 2, c->pool), help_hint(c));
        }
        return at_cli_fail(c, AT_EXIT_USAGE, "bad option (see "
                           "'apitoken --help')");
    }
    *next = os->ind;
    if (interleave) {
        int i;

        for (i = os->ind; i < os->argc; i++) {
            APR_ARRAY_PUSH(c->args, const char *) =
                os->argv[i] == stdin_marker ? "-" : os->argv[i];
        }
    }
    return AT_EXIT_OK;
}

static const char *default_actor(apr_pool_t *p)
{
    const char *s = getenv("SUDO_USER");
    struct passwd *pw;

    if (s && *s) {
        return s;
    }
    pw = getpwuid(getuid());
    if (pw && pw->pw_name && *pw->pw_name) {
        return apr_pstrdup(p, pw->pw_name);
    }
    return apr_psprintf(p, "uid:%ld", (long)getuid());
}

/* libdbi drivers may print to stdout; keep fd 1 on /dev/null and write
 * our output to a duplicate of the real stdout, so --json stays clean. */
static FILE *claim_stdout(void)
{
    int fd = dup(STDOUT_FILENO), nul;
    FILE *f;

    if (fd < 0) {
        return stdout;
    }
    nul = open("/dev/null", O_WRONLY);
    if (nul < 0) {
        close(fd);
        return stdout;
    }
    dup2(nul, STDOUT_FILENO);
    close(nul);
    f = fdopen(fd, "w");
    return f ? f : stdout;
}

static int run(at_cli_t *c, int argc, const char *const *argv)
{
    static const int no_options[] = { 0 };
    const at_cmd_t *cmd;
    const char *err;
    int help = 0, next = 1, code;

    c->cmd = NULL;
    code = parse_opts(c, argc, argv, no_options, 0, &help, &next);
    if (code != AT_EXIT_OK) {
        return code;
    }
    if (next >= argc) {
        if (help) {
            at_cli_usage_main(c->out);
            return AT_EXIT_OK;
        }
        return at_cli_fail(c, AT_EXIT_USAGE, "no command given (see "
                           "'apitoken --help')");
    }
    cmd = at_cli_find_cmd(argv[next]);
    if (!cmd) {
        return at_cli_fail(c, AT_EXIT_USAGE, "unknown command %s (see "
                           "'apitoken --help')",
                           at_ops_quote(argv[next], c->pool));
    }
    if (help && cmd->fn != at_cli_cmd_help) {
        at_cli_usage_cmd(c->out, cmd);
        return AT_EXIT_OK;
    }
    c->cmd = cmd->name;
    code = parse_opts(c, argc - next, argv + next, cmd->opts, 1, &help,
                      &next);
    if (code != AT_EXIT_OK) {
        return code;
    }
    if (help) {
        at_cli_usage_cmd(c->out, cmd);
        return AT_EXIT_OK;
    }
    if (c->args->nelts < cmd->min_args) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s: missing argument %s (usage: "
                           "apitoken %s %s)", cmd->name, cmd->args,
                           cmd->name, cmd->args);
    }
    if (c->args->nelts > cmd->max_args) {
        return at_cli_fail(c, AT_EXIT_USAGE, "%s: unexpected argument %s",
                           cmd->name,
                           at_ops_quote(APR_ARRAY_IDX(c->args, cmd->max_args,
                                                      const char *),
                                        c->pool));
    }
    if (!c->db_url) {
        c->db_url = getenv("APITOKEN_DB");
    }
    if (!c->catalogue) {
        c->catalogue = getenv("APITOKEN_CATALOGUE");
        if (c->catalogue && !*c->catalogue) {
            c->catalogue = NULL;
        }
    }
    if (!c->actor) {
        c->actor = default_actor(c->pool);
    }
    if ((err = at_check_actor(c->actor)) != NULL) {
        return at_cli_fail(c, AT_EXIT_USAGE, "invalid actor %s: %s",
                           at_ops_quote(c->actor, c->pool), err);
    }
    if (c->verbose) {
        at_log_set(log_sink, c, AT_LOG_DEBUG);
    }
    return cmd->fn(c);
}

int main(int argc, const char *const *argv)
{
    at_cli_t cli;
    apr_pool_t *pool;
    int code;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fputs("apitoken: cannot initialise APR\n", stderr);
        return AT_EXIT_DB;
    }
    atexit(apr_terminate);
    apr_pool_create(&pool, NULL);

    memset(&cli, 0, sizeof(cli));
    cli.pool = pool;
    cli.out = claim_stdout();
    /* Our own buffer, so the printed secret can be wiped from it too. */
    cli.outbuf_len = 8192;
    cli.outbuf = apr_pcalloc(pool, cli.outbuf_len);
    setvbuf(cli.out, cli.outbuf, _IOFBF, cli.outbuf_len);
    cli.now = at_time_now();
    cli.scopes = apr_array_make(pool, 4, sizeof(const char *));
    cli.add = apr_array_make(pool, 4, sizeof(const char *));
    cli.remove = apr_array_make(pool, 4, sizeof(const char *));
    cli.nets = apr_array_make(pool, 4, sizeof(const char *));
    cli.resources = apr_array_make(pool, 4, sizeof(const char *));
    cli.add_resources = apr_array_make(pool, 4, sizeof(const char *));
    cli.remove_resources = apr_array_make(pool, 4, sizeof(const char *));
    cli.args = apr_array_make(pool, 4, sizeof(const char *));
    cli.argv_raw = (char **)argv;
    cli.argc_raw = argc;

    code = run(&cli, argc, argv);

    if (cli.store) {
        at_store_close(cli.store);
    }
    if (cli.dbi_ready) {
        dbi_shutdown_r(cli.inst);
    }
    if (fflush(cli.out) != 0 || ferror(cli.out)) {
        fprintf(stderr, "apitoken: cannot write output: %s\n",
                strerror(errno));
        if (code == AT_EXIT_OK) {
            code = AT_EXIT_NOTFOUND;
        }
    }
    fclose(cli.out);
    OPENSSL_cleanse(cli.outbuf, cli.outbuf_len);
    apr_pool_destroy(pool);
    return code;
}
