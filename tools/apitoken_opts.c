/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The command table of the admin tool: every option and command with its
 * help text, the lookups the parser uses, and --help. */

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

const int at_cli_global_opts[] = {
    OPT_HELP, OPT_DB, OPT_JSON, OPT_ACTOR, OPT_CATALOGUE, OPT_VERBOSE, 0
};

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
    { "help", "[COMMAND]", 0, 1, o_none, "", "show help", at_cli_cmd_help },
    { NULL, NULL, 0, 0, NULL, NULL, NULL, NULL }
};

const at_opt_t *at_cli_find_opt(int id)
{
    const at_opt_t *o;

    for (o = options; o->name; o++) {
        if (o->id == id) {
            return o;
        }
    }
    return NULL;
}

const at_cmd_t *at_cli_find_cmd(const char *name)
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
        const at_opt_t *o = at_cli_find_opt(*ids);
        char left[64];

        apr_snprintf(left, sizeof(left), "--%s%s%s", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-22s %s\n", left, o->help);
    }
}

void at_cli_usage_main(FILE *f)
{
    const at_cmd_t *cmd;

    fputs("Usage: apitoken [--db URL] [--json] [--actor NAME] COMMAND ...\n"
          "\nManage the API tokens of mod_apitoken.\n\nCommands:\n", f);
    for (cmd = commands; cmd->name; cmd++) {
        fprintf(f, "  %-13s %s\n", cmd->name, cmd->summary);
    }
    fputs("\nGlobal options (before or after the command):\n", f);
    print_opts(f, at_cli_global_opts);
    fputs("\nDatabase URLs: sqlite3:///abs/path.db, "
          "pgsql://user[:pw]@host[:port]/db,\n"
          "  mysql://user[:pw]@host[:port]/db, "
          "?password_file=/path for the password.\n"
          "\nExit codes: 0 done, 1 not found / not allowed / conflict, "
          "2 usage error,\n  3 database error.\n"
          "\n'apitoken COMMAND --help' describes one command.\n", f);
}

void at_cli_usage_cmd(FILE *f, const at_cmd_t *cmd)
{
    fprintf(f, "Usage: apitoken [global options] %s%s%s%s%s\n\n%s.\n",
            cmd->name, *cmd->args ? " " : "", cmd->args,
            *cmd->synopsis ? " " : "", cmd->synopsis, cmd->summary);
    if (cmd->opts[0]) {
        fputs("\nOptions:\n", f);
        print_opts(f, cmd->opts);
    }
    fputs("\nGlobal options:\n", f);
    print_opts(f, at_cli_global_opts);
}

int at_cli_cmd_help(at_cli_t *c)
{
    const at_cmd_t *cmd;

    if (c->args->nelts == 0) {
        at_cli_usage_main(c->out);
        return AT_EXIT_OK;
    }
    cmd = at_cli_find_cmd(APR_ARRAY_IDX(c->args, 0, const char *));
    if (!cmd) {
        return at_cli_fail(c, AT_EXIT_USAGE, "unknown command %s",
                           at_ops_quote(APR_ARRAY_IDX(c->args, 0,
                                                      const char *),
                                        c->pool));
    }
    at_cli_usage_cmd(c->out, cmd);
    return AT_EXIT_OK;
}
