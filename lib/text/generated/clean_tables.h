/* SPDX-License-Identifier: MIT */
/* Tables for the text cleaning step, generated from Python's standard library by
 * tools/codegen/make_text_clean_tables.py (lib/text/generated/html_entities.c, lib/text/generated/clean_tables.c). */
#ifndef BMC_LIB_CLEAN_TABLES_H
#define BMC_LIB_CLEAN_TABLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct bmci_entity {
    const char *name;  /* without the '&'; with the ';' where the name has one */
    const char *value; /* UTF-8 */
} bmci_entity;

typedef struct bmci_charref {
    uint32_t code_point;
    const char *value; /* UTF-8 */
} bmci_charref;

typedef struct bmci_cp_range {
    uint32_t first, last;
} bmci_cp_range;

extern const bmci_entity bmci_html5_entities[];          /* html.entities.html5, sorted */
extern const size_t bmci_html5_entities_count;
extern const bmci_entity bmci_ftfy_upper_entities[];     /* &EACUTE; and the like, sorted */
extern const size_t bmci_ftfy_upper_entities_count;
extern const bmci_charref bmci_html_invalid_charrefs[];  /* sorted by code point */
extern const size_t bmci_html_invalid_charrefs_count;
extern const bmci_cp_range bmci_html_invalid_codepoints[];
extern const size_t bmci_html_invalid_codepoints_count;

extern const bmci_charref bmci_width_map[];              /* sorted by code point */
extern const size_t bmci_width_map_count;
extern const uint32_t bmci_c1_map[32];                   /* U+0080 + i -> code point */
extern const bmci_cp_range bmci_python_space[];
extern const size_t bmci_python_space_count;

#endif
