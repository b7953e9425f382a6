/* SPDX-License-Identifier: MIT */
/* The built-in prompt template sets, one per imaging modality, each with positive templates
 * for zero-shot classification and their negated counterparts for multi-label scoring.
 * include/biomedclip.h lists them (tests compare the two), so change both together. */
#include <string.h>

#include "core/error.h"

/* The i-th negative template negates the i-th positive one: a set's two lists have one
 * length, so a set used for multi-label scoring weighs every phrasing alike on both sides. */
#define MAX_TEMPLATES 4

typedef struct template_set {
    const char *name;
    const char *positive[MAX_TEMPLATES + 1]; /* NULL-terminated */
    const char *negative[MAX_TEMPLATES + 1];
} template_set;

static const template_set SETS[] = {
    {"generic",
     {"this is a photo of {}", "a medical image showing {}.", "an image of {}.", NULL},
     {"this is a photo of no {}", "a medical image showing no {}.", "an image without {}.", NULL}},
    {"chest-xray",
     {"a chest X-ray showing {}.", "a chest radiograph with {}.",
      "a frontal chest X-ray with findings of {}.", NULL},
     {"a chest X-ray showing no {}.", "a chest radiograph without {}.",
      "a frontal chest X-ray with no findings of {}.", NULL}},
    {"ct",
     {"a CT scan showing {}.", "a computed tomography image with {}.",
      "an axial CT slice showing {}.", NULL},
     {"a CT scan showing no {}.", "a computed tomography image without {}.",
      "an axial CT slice showing no {}.", NULL}},
    {"mri",
     {"an MRI scan showing {}.", "a magnetic resonance image with {}.",
      "an MR image showing {}.", NULL},
     {"an MRI scan showing no {}.", "a magnetic resonance image without {}.",
      "an MR image showing no {}.", NULL}},
    {"ultrasound",
     {"an ultrasound image showing {}.", "a sonogram with {}.", "an ultrasound scan of {}.", NULL},
     {"an ultrasound image showing no {}.", "a sonogram without {}.",
      "an ultrasound scan with no {}.", NULL}},
    {"histopathology",
     {"an H&E stained histopathology image of {}.", "a histopathology slide showing {}.",
      "a microscopy image of tissue with {}.", NULL},
     {"an H&E stained histopathology image with no {}.", "a histopathology slide showing no {}.",
      "a microscopy image of tissue without {}.", NULL}},
    {"dermatology",
     {"a dermoscopy image of {}.", "a clinical photo of a skin lesion showing {}.",
      "a photo of skin with {}.", NULL},
     {"a dermoscopy image with no {}.", "a clinical photo of a skin lesion showing no {}.",
      "a photo of skin without {}.", NULL}},
    {"fundus",
     {"a fundus photograph showing {}.", "a retinal image with {}.",
      "a color fundus image of an eye with {}.", NULL},
     {"a fundus photograph showing no {}.", "a retinal image without {}.",
      "a color fundus image of an eye without {}.", NULL}},
};

#define SET_COUNT (sizeof SETS / sizeof SETS[0])

static size_t list_length(const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

size_t bmc_template_set_count(void)
{
    return SET_COUNT;
}

const char *bmc_template_set_name(size_t index)
{
    return index < SET_COUNT ? SETS[index].name : NULL;
}

bmc_status bmc_template_set(const char *name, const char *const **templates, size_t *count,
                            const char *const **negative_templates, size_t *negative_count)
{
    if (!name)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_template_set: name is NULL");
    for (size_t i = 0; i < SET_COUNT; i++) {
        if (strcmp(SETS[i].name, name) != 0)
            continue;
        if (templates)
            *templates = SETS[i].positive;
        if (count)
            *count = list_length(SETS[i].positive);
        if (negative_templates)
            *negative_templates = SETS[i].negative;
        if (negative_count)
            *negative_count = list_length(SETS[i].negative);
        return BMC_OK;
    }
    char names[256] = "";
    for (size_t i = 0; i < SET_COUNT; i++) {
        strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, SETS[i].name, sizeof names - strlen(names) - 1);
    }
    return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_template_set: no template set '%.100s' (the sets: %s)",
                     name, names);
}
