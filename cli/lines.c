/* SPDX-License-Identifier: MIT */
/* Reading texts, one per line, from stdin or a file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_lines_free(cli_lines *lines)
{
    for (size_t i = 0; i < lines->count; i++)
        free(lines->text[i]);
    free(lines->text);
    free(lines->length);
    memset(lines, 0, sizeof *lines);
}

/* Appends one line (its bytes, NUL bytes included, as they were read). */
static int append_line(cli_lines *lines, size_t *capacity, const char *text, size_t length)
{
    if (lines->count == *capacity) {
        size_t grown_capacity = *capacity ? 2 * *capacity : 64;
        char **grown_text = realloc(lines->text, grown_capacity * sizeof *grown_text);
        if (grown_text)
            lines->text = grown_text;
        size_t *grown_length = realloc(lines->length, grown_capacity * sizeof *grown_length);
        if (grown_length)
            lines->length = grown_length;
        if (!grown_text || !grown_length)
            return CLI_FAIL;
        *capacity = grown_capacity;
    }
    char *copy = malloc(length + 1);
    if (!copy)
        return CLI_FAIL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    lines->text[lines->count] = copy;
    lines->length[lines->count] = length;
    lines->count++;
    return CLI_OK;
}

int cli_next_line(FILE *stream, char **line, size_t *capacity, size_t *length)
{
    ssize_t got = getline(line, capacity, stream);
    if (got < 0)
        return 0;
    size_t n = (size_t)got;
    if (n > 0 && (*line)[n - 1] == '\n')
        n--;
    if (n > 0 && (*line)[n - 1] == '\r')
        n--;
    (*line)[n] = '\0';
    *length = n;
    return 1;
}

int cli_read_lines(const char *cmd, FILE *stream, cli_lines *lines)
{
    cli_lines result = {0};
    size_t capacity = 0;
    char *line = NULL;
    size_t line_capacity = 0;
    size_t n;
    while (cli_next_line(stream, &line, &line_capacity, &n)) {
        if (append_line(&result, &capacity, line, n) != CLI_OK) {
            size_t read = result.count;
            free(line);
            cli_lines_free(&result);
            return cli_error(cmd, "out of memory after %zu lines", read);
        }
    }
    int failed = ferror(stream);
    free(line);
    if (failed) {
        cli_lines_free(&result);
        return cli_error(cmd, "cannot read the input lines");
    }
    *lines = result;
    return CLI_OK;
}

int cli_lines_check_no_nul(const char *cmd, const cli_lines *lines)
{
    for (size_t i = 0; i < lines->count; i++)
        if (strlen(lines->text[i]) != lines->length[i])
            return cli_error(cmd, "line %zu holds a NUL byte", i + 1);
    return CLI_OK;
}
