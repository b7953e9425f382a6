/* SPDX-License-Identifier: MIT */
/* Reading the fixtures of tools/fixtures/make_image_fixtures.py (its docstring describes the layout):
 * OUTDIR/manifest.txt lists images and Pillow's reference outputs as raw binary files. */
#ifndef BMC_TESTS_IMAGE_FIXTURES_H
#define BMC_TESTS_IMAGE_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"
#include "harness.h"

#define FIXTURE_FIELD 160
#define FIXTURE_MAX 512

/* One manifest record: its kind ("image", "pre", "resize_f32") and up to 9 fields. */
struct fixture_line {
    char kind[16];
    char field[9][FIXTURE_FIELD];
    int count;
};

static struct fixture_line fixture_lines[FIXTURE_MAX];
static int fixture_line_count;

static inline const char *fixture_dir(void)
{
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/image", harness_fixtures());
    return dir;
}

/* Read the manifest once; returns the number of records (0 if it is missing). */
static inline int fixtures_load(void)
{
    if (fixture_line_count)
        return fixture_line_count;
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.txt", fixture_dir());
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    char line[2048];
    while (fixture_line_count < FIXTURE_MAX && fgets(line, sizeof line, file)) {
        struct fixture_line *f = &fixture_lines[fixture_line_count];
        memset(f, 0, sizeof *f);
        char *save = NULL;
        char *token = strtok_r(line, " \n", &save);
        if (!token || token[0] == '#')
            continue;
        snprintf(f->kind, sizeof f->kind, "%s", token);
        while ((token = strtok_r(NULL, " \n", &save)) && f->count < 9)
            snprintf(f->field[f->count++], FIXTURE_FIELD, "%s", token);
        fixture_line_count++;
    }
    fclose(file);
    return fixture_line_count;
}

static inline void fixture_path(const char *relative, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", fixture_dir(), relative);
}

/* A whole fixture file in memory (NULL if missing); free() it. */
static inline void *fixture_read(const char *relative, size_t *size)
{
    char path[600];
    fixture_path(relative, path, sizeof path);
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    void *data = malloc(length > 0 ? (size_t)length : 1);
    if (data && fread(data, 1, (size_t)length, file) != (size_t)length) {
        free(data);
        data = NULL;
    }
    fclose(file);
    if (data && size)
        *size = (size_t)length;
    return data;
}

/* The image record named `name`, or NULL. */
static inline const struct fixture_line *fixture_image(const char *name)
{
    for (int i = 0; i < fixtures_load(); i++)
        if (strcmp(fixture_lines[i].kind, "image") == 0 && strcmp(fixture_lines[i].field[0], name) == 0)
            return &fixture_lines[i];
    return NULL;
}

/* Pillow's mode name -> BMC_IMAGE_MODE_*, 0 if unknown. */
static inline int fixture_mode(const char *name)
{
    static const char *names[] = {"", "1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I"};
    for (int i = 1; i < 9; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return 0;
}

static inline int fixture_filter(const char *name)
{
    if (strcmp(name, "nearest") == 0)
        return BMC_FILTER_NEAREST;
    if (strcmp(name, "bilinear") == 0)
        return BMC_FILTER_BILINEAR;
    return strcmp(name, "bicubic") == 0 ? BMC_FILTER_BICUBIC : -1;
}

#endif
