/* SPDX-License-Identifier: MIT */
/* Fuzz target: any bytes as captions (lines; the first is the candidate, the others its
 * references), scored with every metric. Invalid UTF-8 must come back as a status; nothing
 * may crash, leak or trip a sanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) /* LCS and alignment are quadratic: keep each input fast */
        return 0;
    char *text = malloc(size + 1);
    const char *lines[64];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t count = 0;
    for (char *line = text; line && count < 64;) {
        lines[count++] = line;
        line = strchr(line, '\n');
        if (line)
            *line++ = '\0';
    }
    /* Two candidates when there are enough lines, so CIDEr-D has a corpus to weigh. */
    size_t candidates = count >= 4 ? 2 : 1;
    const char *cands[2] = {lines[0], candidates == 2 ? lines[1] : NULL};
    size_t refs = count > candidates ? count - candidates : 1;
    const char *const *references = count > candidates ? lines + candidates : lines;
    size_t reference_counts[2] = {candidates == 2 ? refs / 2 : refs, refs - refs / 2};
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    options.bleu_smoothing = (int32_t)(size % 5);
    double per[2];
    for (int32_t metric = BMC_CAPTION_BLEU_1; metric <= BMC_CAPTION_CIDER_D; metric++) {
        double corpus;
        bmc_caption_score(metric, cands, candidates, references, reference_counts, &options,
                          &corpus, per);
    }
    free(text);
    return 0;
}
