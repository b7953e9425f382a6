/* SPDX-License-Identifier: MIT */
/* Option parsing and messages shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void vmessage(const char *cmd, const char *fmt, va_list ap)
{
    cli_progress_end();
    fprintf(stderr, "biomedclip %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cmd, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_library_error(const char *cmd)
{
    return cli_error(cmd, "%s", bmc_last_error());
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Run 'biomedclip %s --help' for its usage.\n", cmd);
    return CLI_USAGE;
}

static int add_input(cli_args *args, const char *path, int raw)
{
    cli_input *grown = realloc(args->inputs, (args->input_count + 1) * sizeof *grown);
    if (!grown)
        return CLI_FAIL;
    grown[args->input_count] = (cli_input){.path = path, .raw = raw};
    args->inputs = grown;
    args->input_count++;
    return CLI_OK;
}

/* The option `arg` names ("--out" or "--out=x"), or NULL. */
static const cli_option *find_option(const char *arg, const cli_option *options, size_t count)
{
    size_t length = strcspn(arg, "=");
    for (size_t i = 0; i < count; i++)
        if (strlen(options[i].name) == length && strncmp(arg, options[i].name, length) == 0)
            return &options[i];
    return NULL;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_option *options,
              size_t option_count, cli_args *args)
{
    memset(args, 0, sizeof *args);
    int only_inputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_inputs || arg[0] != '-' || arg[1] == '\0') {
            if (add_input(args, arg, 0) != CLI_OK) {
                cli_args_free(args);
                return cli_error(cmd, "out of memory");
            }
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_inputs = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            args->help = 1;
            continue;
        }
        const cli_option *option = find_option(arg, options, option_count);
        if (!option) {
            cli_args_free(args);
            return cli_usage_error(cmd, "unknown option '%s'", arg);
        }
        const char *equals = strchr(arg, '=');
        if (option->flag) {
            if (equals) {
                cli_args_free(args);
                return cli_usage_error(cmd, "option %s takes no value", option->name);
            }
            *option->flag = 1;
            continue;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                cli_args_free(args);
                return cli_usage_error(cmd, "option %s needs a value", option->name);
            }
            value = argv[++i];
        }
        if (option->inputs == CLI_OPTION_LIST) {
            cli_strings *list = (cli_strings *)(void *)option->value;
            const char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
            if (!grown) {
                cli_args_free(args);
                return cli_error(cmd, "out of memory");
            }
            grown[list->count++] = value;
            list->items = grown;
            list->last = value;
        } else if (option->inputs) {
            if (add_input(args, value, 1) != CLI_OK) {
                cli_args_free(args);
                return cli_error(cmd, "out of memory");
            }
        } else {
            cli_value *grown = realloc(args->values, (args->value_count + 1) * sizeof *grown);
            if (!grown) {
                cli_args_free(args);
                return cli_error(cmd, "out of memory");
            }
            grown[args->value_count++] = (cli_value){option->name, value};
            args->values = grown;
            *option->value = value;
        }
    }
    return CLI_OK;
}

void cli_args_free(cli_args *args)
{
    for (size_t i = 0; i < args->input_count; i++)
        free(args->inputs[i].owned);
    free(args->inputs);
    args->inputs = NULL;
    args->input_count = 0;
    free(args->values);
    args->values = NULL;
    args->value_count = 0;
}

int cli_parse_int(const char *cmd, const char *name, const char *text, long min, long max,
                  int32_t *out)
{
    if (!text)
        return CLI_OK;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || value < min || value > max)
        return cli_usage_error(cmd, "%s must be an integer from %ld to %ld, not '%s'", name, min,
                               max, text);
    *out = (int32_t)value;
    return CLI_OK;
}

/* A finite double filling the whole of text[0..length). */
static int parse_double(const char *text, size_t length, double *out)
{
    char buffer[64];
    if (length == 0 || length >= sizeof buffer)
        return 0;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buffer, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

int cli_parse_double_pair(const char *cmd, const char *name, const char *text, double *first,
                          double *second)
{
    if (!text)
        return CLI_OK;
    const char *comma = strchr(text, ',');
    double a, b;
    if (!comma || !parse_double(text, (size_t)(comma - text), &a) ||
        !parse_double(comma + 1, strlen(comma + 1), &b))
        return cli_usage_error(cmd, "%s must be two numbers separated by a comma, not '%s'", name,
                               text);
    *first = a;
    *second = b;
    return CLI_OK;
}

int cli_parse_double(const char *cmd, const char *name, const char *text, double min, double max,
                     double *out)
{
    if (!text)
        return CLI_OK;
    double value;
    if (!parse_double(text, strlen(text), &value) || value < min || value > max)
        return cli_usage_error(cmd, "%s must be a number from %g to %g, not '%s'", name, min, max,
                               text);
    *out = value;
    return CLI_OK;
}

int cli_split_list(const char *cmd, const char *option, const char *item, char *list,
                   char ***items, size_t *count)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **result = malloc(n * sizeof *result);
    if (!result)
        return cli_error(cmd, "out of memory");
    for (size_t i = 0; i < n; i++) {
        result[i] = list;
        list += strcspn(list, ",");
        if (*list)
            *list++ = '\0';
        if (result[i][0] == '\0') {
            free(result);
            return cli_usage_error(cmd, "%s has an empty %s (number %zu)", option, item, i + 1);
        }
    }
    *items = result;
    *count = n;
    return CLI_OK;
}
