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

/* Long-only options get ids above the char range. */
enum {
    OPT_HELP = 'h',
    OPT_DB = 256,
    OPT_JSON,
    OPT_ACTOR,
    OPT_CATALOGUE,
    OPT_VERBOSE,
    OPT_PREFIX,
    OPT_OWNER,
    OPT_NAME,
    OPT_SCOPE,
    OPT_FULL,
    OPT_RESTRICTED,
    OPT_EXPIRES,
    OPT_ALLOW_IP,
    OPT_DESCRIPTION,
    OPT_STATUS,
    OPT_ADD,
    OPT_REMOVE,
    OPT_GRACE,
    OPT_BEFORE,
    OPT_FROM,
    OPT_USER,
    OPT_ALL,
    OPT_REASON,
    OPT_UNUSED_SCOPES,
    OPT_UNUSED,
    OPT_EXPIRING,
    OPT_ANY_ADDRESS,
    OPT_FORCE,
    OPT_DRY_RUN,
    OPT_SINCE,
    OPT_ACTION,
    OPT_WITHIN,
    OPT_RESOURCE,
    OPT_ADD_RESOURCE,
    OPT_REMOVE_RESOURCE,
    OPT_ANY_RESOURCE
};

typedef struct {
    int id;
    const char *name;
    const char *arg;           /* NULL for a flag */
    const char *help;
} at_opt_t;

static const at_opt_t options[] = {
    { OPT_HELP, "help", NULL, "show help and exit" },
    { OPT_DB, "db", "URL", "token database (default: $APITOKEN_DB)" },
    { OPT_JSON, "json", NULL, "print one JSON document" },
    { OPT_ACTOR, "actor", "NAME",
      "who to record in the audit log (default: $SUDO_USER or the user)" },
    { OPT_CATALOGUE, "catalogue", "FILE",
      "known features, one 'feature description' per line "
      "(default: $APITOKEN_CATALOGUE)" },
    { OPT_VERBOSE, "verbose", NULL, "log the store's diagnostics to stderr" },
    { OPT_PREFIX, "prefix", "P", "token prefix for a new schema (default apt)" },
    { OPT_OWNER, "owner", "USER", "the token's owner (REMOTE_USER)" },
    { OPT_NAME, "name", "NAME", "the token's name, unique per owner" },
    { OPT_SCOPE, "scope", "S", "scope(s), repeatable, comma or space separated" },
    { OPT_FULL, "full-access", NULL, "grant every scope" },
    { OPT_RESTRICTED, "restricted", NULL, "only the listed scopes" },
    { OPT_EXPIRES, "expires", "WHEN",
      "expiry: YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM], +30d/+12h/+90m, never" },
    { OPT_ALLOW_IP, "allow-ip", "CIDR",
      "accept the token only from these addresses, repeatable" },
    { OPT_DESCRIPTION, "description", "TEXT", "free text" },
    { OPT_STATUS, "status", "S",
      "active, expiring, expired, revoked or all (default all)" },
    { OPT_ADD, "add", "S", "scope(s) to add, repeatable" },
    { OPT_REMOVE, "remove", "S", "scope(s) to remove, repeatable" },
    { OPT_GRACE, "grace", "DURATION",
      "keep the old secret working this long (30m, 12h, 7d; 0: none)" },
    { OPT_BEFORE, "before", "WHEN", "only tokens expired or revoked before" },
    { OPT_FROM, "from", "IP", "client address to check allow-lists against" },
    { OPT_USER, "user", "USER", "user the client claims (cPanel/Basic forms)" },
    { OPT_ALL, "all", NULL, "every token of --owner" },
    { OPT_REASON, "reason", "TEXT", "why, recorded in the audit log" },
    { OPT_UNUSED_SCOPES, "unused-scopes", "DAYS",
      "tokens holding scopes not used for DAYS days (default 30)" },
    { OPT_UNUSED, "unused", "DAYS",
      "tokens not used for DAYS days (default 90)" },
    { OPT_EXPIRING, "expiring", "DAYS",
      "tokens expiring within DAYS days (default 14)" },
    { OPT_SINCE, "since", "WHEN",
      "only events at or after WHEN (a date, or 24h, 7d: that long ago)" },
    { OPT_ACTION, "action", "NAME",
      "only events of this action (create, revoke, ...)" },
    { OPT_DRY_RUN, "dry-run", NULL, "show what would be deleted, delete "
      "nothing" },
    { OPT_WITHIN, "within", "DURATION",
      "with --status expiring: the window (default 7d)" },
    { OPT_FORCE, "force", NULL,
      "rotate again during a grace period, ending the previous secret now" },
    { OPT_ANY_ADDRESS, "any-address", NULL,
      "clear the allowed networks: the token works from any address" },
    { OPT_RESOURCE, "resource", "P",
      "limit the token to resources matching P (glob), repeatable" },
    { OPT_ADD_RESOURCE, "add-resource", "P",
      "resource pattern(s) to add, repeatable" },
    { OPT_REMOVE_RESOURCE, "remove-resource", "P",
      "resource pattern(s) to remove, repeatable" },
    { OPT_ANY_RESOURCE, "any-resource", NULL,
      "clear the resource patterns: the token works on any resource" },
    { 0, NULL, NULL, NULL }
};

static const int global_opts[] = {
    OPT_HELP, OPT_DB, OPT_JSON, OPT_ACTOR, OPT_CATALOGUE, OPT_VERBOSE, 0
};

typedef struct {
    const char *name;
    const char *args;          /* positional synopsis */
    int min_args, max_args;
    const int *opts;           /* command options, 0-terminated */
    const char *synopsis;      /* options synopsis */
    const char *summary;
    at_cmd_fn *fn;
} at_cmd_t;

static const int o_none[] = { 0 };
static const int o_init[] = { OPT_PREFIX, 0 };
static const int o_create[] = { OPT_OWNER, OPT_NAME, OPT_SCOPE, OPT_FULL,
                                OPT_EXPIRES, OPT_ALLOW_IP, OPT_DESCRIPTION,
                                OPT_RESOURCE, 0 };
static const int o_list[] = { OPT_OWNER, OPT_STATUS, OPT_WITHIN, 0 };
static const int o_scope[] = { OPT_ADD, OPT_REMOVE, OPT_FULL, OPT_RESTRICTED,
                               OPT_ADD_RESOURCE, OPT_REMOVE_RESOURCE,
                               OPT_ANY_RESOURCE, 0 };
static const int o_edit[] = { OPT_NAME, OPT_DESCRIPTION, OPT_ALLOW_IP,
                              OPT_ANY_ADDRESS, 0 };
static const int o_rotate[] = { OPT_GRACE, OPT_FORCE, 0 };
static const int o_prune[] = { OPT_BEFORE, OPT_DRY_RUN, 0 };
static const int o_verify[] = { OPT_SCOPE, OPT_FROM, OPT_USER, 0 };
static const int o_revoke[] = { OPT_OWNER, OPT_ALL, OPT_REASON, 0 };
static const int o_leaked[] = { OPT_REASON, 0 };
static const int o_log[] = { OPT_OWNER, OPT_SINCE, OPT_ACTION, 0 };
static const int o_audit[] = { OPT_UNUSED_SCOPES, OPT_UNUSED, OPT_EXPIRING,
                               OPT_FULL, OPT_OWNER, 0 };

static int cmd_help(at_cli_t *c);

static const at_cmd_t commands[] = {
    { "init", "", 0, 0, o_init, "[--prefix P]",
      "create or upgrade the schema (idempotent)", at_cmd_init },
    { "create", "", 0, 0, o_create,
      "--owner USER --name NAME (--scope S ... | --full-access)\n"
      "       [--expires DATE|+30d|never] [--allow-ip CIDR ...] "
      "[--description TEXT]\n"
      "       [--resource PATTERN ...]",
      "issue a token; the secret is printed once", at_cmd_create },
    { "list", "", 0, 0, o_list,
      "[--owner USER] [--status active|expiring|expired|revoked|all]\n"
      "       [--within DURATION]",
      "list tokens", at_cmd_list },
    { "show", "ID", 1, 1, o_none, "",
      "show one token, with its granted versus used scopes", at_cmd_show },
    { "rename", "ID NEW_NAME", 2, 2, o_none, "", "rename a token",
      at_cmd_rename },
    { "edit", "ID", 1, 1, o_edit,
      "[--name NAME] [--description TEXT]\n"
      "       [--allow-ip CIDR ... | --any-address]",
      "change name, description and allowed networks in one transaction",
      at_cmd_edit },
    { "scope", "ID", 1, 1, o_scope,
      "[--add S ...] [--remove S ...] [--full-access | --restricted]\n"
      "       [--add-resource P ...] [--remove-resource P ...] "
      "[--any-resource]",
      "change a token's permissions and resources", at_cmd_scope },
    { "expire", "ID DATE|+30d|never", 2, 2, o_none, "",
      "set the expiry (a past date expires the token now)", at_cmd_expire },
    { "revoke", "ID | --owner USER --all", 0, 1, o_revoke, "[--reason TEXT]",
      "revoke a token at once, or every token of an account",
      at_cmd_revoke },
    { "revoke-leaked", "TOKEN|-", 1, 1, o_leaked, "[--reason TEXT]",
      "revoke a leaked token string if genuine and name its owner "
      "('-' reads stdin)", at_cmd_revoke_leaked },
    { "rotate", "ID", 1, 1, o_rotate, "[--grace DURATION|0] [--force]",
      "new secret, same id; the old one works until the grace ends",
      at_cmd_rotate },
    { "delete", "ID", 1, 1, o_none, "", "delete a token", at_cmd_delete },
    { "prune", "", 0, 0, o_prune, "[--before DATE] [--dry-run]",
      "delete expired and revoked tokens", at_cmd_prune },
    { "verify", "TOKEN|-", 1, 1, o_verify,
      "[--scope S] [--from IP] [--user USER]",
      "decide as the module would; exit 0 only if allowed ('-' reads stdin)",
      at_cmd_verify },
    { "log", "[ID]", 0, 1, o_log,
      "[--owner USER] [--since WHEN] [--action NAME]",
      "show audit events (of one owner's tokens)", at_cmd_log },
    { "audit", "", 0, 0, o_audit,
      "[--unused-scopes DAYS] [--unused DAYS] [--expiring DAYS]\n"
      "       [--full-access] [--owner USER]",
      "list tokens with unused scopes, unused, expiring or full access; "
      "exit 1 if any", at_cmd_audit },
    { "help", "[COMMAND]", 0, 1, o_none, "", "show help", cmd_help },
    { NULL, NULL, 0, 0, NULL, NULL, NULL, NULL }
};

static const at_opt_t *find_opt(int id)
{
    const at_opt_t *o;

    for (o = options; o->name; o++) {
        if (o->id == id) {
            return o;
        }
    }
    return NULL;
}

static const at_cmd_t *find_cmd(const char *name)
{
    const at_cmd_t *cmd;

    for (cmd = commands; cmd->name; cmd++) {
        if (!strcmp(cmd->name, name)) {
            return cmd;
        }
    }
    return NULL;
}

static void print_opts(FILE *f, const int *ids)
{
    for (; *ids; ids++) {
        const at_opt_t *o = find_opt(*ids);
        char left[64];

        apr_snprintf(left, sizeof(left), "--%s%s%s", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-22s %s\n", left, o->help);
    }
}

static void usage_main(FILE *f)
{
    const at_cmd_t *cmd;

    fputs("Usage: apitoken [--db URL] [--json] [--actor NAME] COMMAND ...\n"
          "\nManage the API tokens of mod_apitoken.\n\nCommands:\n", f);
    for (cmd = commands; cmd->name; cmd++) {
        fprintf(f, "  %-13s %s\n", cmd->name, cmd->summary);
    }
    fputs("\nGlobal options (before or after the command):\n", f);
    print_opts(f, global_opts);
    fputs("\nDatabase URLs: sqlite3:///abs/path.db, "
          "pgsql://user[:pw]@host[:port]/db,\n"
          "  mysql://user[:pw]@host[:port]/db, "
          "?password_file=/path for the password.\n"
          "\nExit codes: 0 done, 1 not found / not allowed / conflict, "
          "2 usage error,\n  3 database error.\n"
          "\n'apitoken COMMAND --help' describes one command.\n", f);
}

static void usage_cmd(FILE *f, const at_cmd_t *cmd)
{
    fprintf(f, "Usage: apitoken [global options] %s%s%s%s%s\n\n%s.\n",
            cmd->name, *cmd->args ? " " : "", cmd->args,
            *cmd->synopsis ? " " : "", cmd->synopsis, cmd->summary);
    if (cmd->opts[0]) {
        fputs("\nOptions:\n", f);
        print_opts(f, cmd->opts);
    }
    fputs("\nGlobal options:\n", f);
    print_opts(f, global_opts);
}

static int cmd_help(at_cli_t *c)
{
    const at_cmd_t *cmd;

    if (c->args->nelts == 0) {
        usage_main(c->out);
        return AT_EXIT_OK;
    }
    cmd = find_cmd(APR_ARRAY_IDX(c->args, 0, const char *));
    if (!cmd) {
        return at_cli_fail(c, AT_EXIT_USAGE, "unknown command %s",
                           at_ops_quote(APR_ARRAY_IDX(c->args, 0,
                                                      const char *),
                                        c->pool));
    }
    usage_cmd(c->out, cmd);
    return AT_EXIT_OK;
}

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

int at_cli_begin(at_cli_t *c, int write)
{
    if (at_store_begin(c->store, write) != APR_SUCCESS) {
        return at_cli_fail(c, AT_EXIT_DB, "cannot start a transaction: %s",
                           at_store_error(c->store));
    }
    c->in_tx = 1;
    return AT_EXIT_OK;
}

int at_cli_abort(at_cli_t *c, int code)
{
    if (c->in_tx) {
        c->in_tx = 0;
        at_store_rollback(c->store);
    }
    return code;
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
    return at_cli_abort(c, code);
}

int at_cli_finish(at_cli_t *c, const char *action, const char *token_id,
                  const char *detail)
{
    at_audit_rec_t ev;
    apr_status_t rv;

    memset(&ev, 0, sizeof(ev));
    ev.at = c->now;
    ev.action = action;
    ev.token_id = token_id ? token_id : "";
    ev.actor = c->actor;
    ev.detail = detail ? detail : "";
    if ((rv = at_store_audit_add(c->store, &ev)) != APR_SUCCESS) {
        return at_cli_store_fail(c, rv, "audit", token_id);
    }
    if ((rv = at_store_bump_change(c->store)) != APR_SUCCESS) {
        return at_cli_store_fail(c, rv, "change marker", token_id);
    }
    c->in_tx = 0;
    if (at_store_commit(c->store) != APR_SUCCESS) {
        at_store_rollback(c->store);
        return at_cli_fail(c, AT_EXIT_DB, "commit failed: %s",
                           at_store_error(c->store));
    }
    return AT_EXIT_OK;
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
    const at_opt_t *o = find_opt(id);

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

    lists[0] = global_opts;
    lists[1] = ids;
    for (l = 0; l < 2; l++) {
        const int *id;

        for (id = lists[l]; *id; id++) {
            const at_opt_t *o = find_opt(*id);

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
    const at_cmd_t *cmd;
    const char *err;
    int help = 0, next = 1, code;

    c->cmd = NULL;
    code = parse_opts(c, argc, argv, o_none, 0, &help, &next);
    if (code != AT_EXIT_OK) {
        return code;
    }
    if (next >= argc) {
        if (help) {
            usage_main(c->out);
            return AT_EXIT_OK;
        }
        return at_cli_fail(c, AT_EXIT_USAGE, "no command given (see "
                           "'apitoken --help')");
    }
    cmd = find_cmd(argv[next]);
    if (!cmd) {
        return at_cli_fail(c, AT_EXIT_USAGE, "unknown command %s (see "
                           "'apitoken --help')",
                           at_ops_quote(argv[next], c->pool));
    }
    if (help && cmd->fn != cmd_help) {
        usage_cmd(c->out, cmd);
        return AT_EXIT_OK;
    }
    c->cmd = cmd->name;
    code = parse_opts(c, argc - next, argv + next, cmd->opts, 1, &help,
                      &next);
    if (code != AT_EXIT_OK) {
        return code;
    }
    if (help) {
        usage_cmd(c->out, cmd);
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
        at_cli_abort(&cli, 0);
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
