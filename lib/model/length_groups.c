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
    groups->capacity = capacity;
    groups->max_length = max_length;
    groups->order = malloc(capacity * sizeof *groups->order);
    groups->ends = malloc(capacity * sizeof *groups->ends);
    groups->at_most = malloc((max_length + 1) * sizeof *groups->at_most);
    groups->lengths = malloc((max_length + 1) * sizeof *groups->lengths);
    groups->cost = malloc((max_length + 2) * sizeof *groups->cost);
    groups->cut = malloc((max_length + 2) * sizeof *groups->cut);
    if (!groups->order || !groups->ends || !groups->at_most || !groups->lengths || !groups->cost ||
        !groups->cut) {
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
    free(groups->at_most);
    free(groups->lengths);
    free(groups->cost);
    free(groups->cut);
    memset(groups, 0, sizeof *groups);
}

/* Counting sort, stable: order[] gets the indices shortest first; lengths[] the distinct
 * lengths ascending; at_most[length] how many texts are no longer. Returns the distinct count. */
static size_t sort_by_length(bmci_length_groups *groups, const size_t *lengths, size_t n)
{
    size_t *at_most = groups->at_most;
    memset(at_most, 0, (groups->max_length + 1) * sizeof *at_most);
    for (size_t i = 0; i < n; i++)
        at_most[lengths[i]]++;
    size_t distinct = 0, total = 0;
    for (size_t length = 0; length <= groups->max_length; length++) {
        if (at_most[length])
            groups->lengths[distinct++] = length;
        total += at_most[length];
        at_most[length] = total;
    }
    for (size_t i = n; i-- > 0;)
        groups->order[--at_most[lengths[i]]] = i;
    /* at_most[length] now counts the shorter texts; shift to "no longer than" for the plan. */
    for (size_t k = 0; k < distinct; k++) {
        size_t length = groups->lengths[k];
        at_most[length] = k + 1 < distinct ? at_most[groups->lengths[k + 1]] : n;
    }
    return distinct;
}

void bmci_length_groups_plan(bmci_length_groups *groups, const size_t *lengths, size_t n,
                             size_t group_cost)
{
    size_t distinct = sort_by_length(groups, lengths, n);
    const size_t *at_most = groups->at_most;
    /* cost[k]: the cheapest plan for the texts of the k shortest distinct lengths. */
    groups->cost[0] = 0;
    for (size_t k = 1; k <= distinct; k++) {
        size_t longest = groups->lengths[k - 1], texts = at_most[longest];
        groups->cost[k] = (size_t)-1;
        for (size_t j = 0; j < k; j++) {
            size_t before = j ? at_most[groups->lengths[j - 1]] : 0;
            size_t cost = groups->cost[j] + (texts - before) * longest + group_cost;
            if (cost < groups->cost[k]) {
                groups->cost[k] = cost;
                groups->cut[k] = j;
            }
        }
    }
    /* Walk the cuts back from the longest length, then put the group ends in ascending order. */
    size_t count = 0;
    for (size_t k = distinct; k > 0; k = groups->cut[k])
        groups->ends[count++] = at_most[groups->lengths[k - 1]];
    for (size_t g = 0; g < count / 2; g++) {
        size_t swap = groups->ends[g];
        groups->ends[g] = groups->ends[count - 1 - g];
        groups->ends[count - 1 - g] = swap;
    }
    groups->count = count;
}
