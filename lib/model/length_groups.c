/* SPDX-License-Identifier: MIT */
/* Grouping a batch of texts by length (see length_groups.h).
 *
 * An optimal plan never puts texts of equal length in two groups (moving them into the group
 * of the first, whose longest they are, costs nothing there and can only shorten the other), so
 * cuts fall between distinct lengths, and a dynamic programme over the distinct lengths (at
 * most the context length, 256 for BiomedCLIP) finds the cheapest cut in that many squared
 * steps, whatever the batch size. */
#include "model/length_groups.h"

#include <stdlib.h>
#include <string.h>

bmc_status bmci_length_groups_init(bmci_length_groups *groups, size_t capacity, size_t max_length)
{
    memset(groups, 0, sizeof *groups);
    groups->max_length = max_length;
    groups->order = malloc(capacity * sizeof *groups->order);
    groups->ends = malloc(capacity * sizeof *groups->ends);
    groups->slot = malloc((max_length + 1) * sizeof *groups->slot);
    groups->lengths = malloc((max_length + 1) * sizeof *groups->lengths);
    groups->up_to = malloc((max_length + 1) * sizeof *groups->up_to);
    groups->cost = malloc((max_length + 2) * sizeof *groups->cost);
    groups->cut = malloc((max_length + 2) * sizeof *groups->cut);
    if (!groups->order || !groups->ends || !groups->slot || !groups->lengths || !groups->up_to ||
        !groups->cost || !groups->cut) {
        bmci_length_groups_free(groups);
        return BMC_ERR_OUT_OF_MEMORY;
    }
    return BMC_OK;
}

void bmci_length_groups_free(bmci_length_groups *groups)
{
    if (!groups)
        return;
    free(groups->order);
    free(groups->ends);
    free(groups->slot);
    free(groups->lengths);
    free(groups->up_to);
    free(groups->cost);
    free(groups->cut);
    memset(groups, 0, sizeof *groups);
}

/* Counting sort, stable: order[] gets the indices shortest first, lengths[] the distinct
 * lengths ascending and up_to[] how many texts are no longer than each. Returns the distinct
 * count. */
static size_t sort_by_length(bmci_length_groups *groups, const size_t *lengths, size_t n)
{
    size_t *slot = groups->slot;
    memset(slot, 0, (groups->max_length + 1) * sizeof *slot);
    for (size_t i = 0; i < n; i++)
        slot[lengths[i]]++;
    size_t distinct = 0, total = 0;
    for (size_t length = 0; length <= groups->max_length; length++) {
        total += slot[length];
        if (slot[length]) {
            groups->lengths[distinct] = length;
            groups->up_to[distinct++] = total;
        }
        slot[length] = total; /* one past the last place of this length; filled backwards */
    }
    for (size_t i = n; i-- > 0;)
        groups->order[--slot[lengths[i]]] = i;
    return distinct;
}

void bmci_length_groups_plan(bmci_length_groups *groups, const size_t *lengths, size_t n,
                             size_t group_cost)
{
    size_t distinct = sort_by_length(groups, lengths, n);
    const size_t *up_to = groups->up_to;
    /* cost[k]: the cheapest plan for the texts of the k shortest distinct lengths. */
    groups->cost[0] = 0;
    for (size_t k = 1; k <= distinct; k++) {
        size_t longest = groups->lengths[k - 1];
        groups->cost[k] = (size_t)-1;
        for (size_t j = 0; j < k; j++) {
            size_t before = j ? up_to[j - 1] : 0;
            size_t cost = groups->cost[j] + (up_to[k - 1] - before) * longest + group_cost;
            if (cost < groups->cost[k]) {
                groups->cost[k] = cost;
                groups->cut[k] = j;
            }
        }
    }
    /* Walk the cuts back from the longest length, then put the group ends in ascending order. */
    size_t count = 0;
    for (size_t k = distinct; k > 0; k = groups->cut[k])
        groups->ends[count++] = up_to[k - 1];
    for (size_t g = 0; g < count / 2; g++) {
        size_t swap = groups->ends[g];
        groups->ends[g] = groups->ends[count - 1 - g];
        groups->ends[count - 1 - g] = swap;
    }
    groups->count = count;
}
