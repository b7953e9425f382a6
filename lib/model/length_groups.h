/* SPDX-License-Identifier: MIT */
/* Grouping a batch of texts by length: a forward pads every text to the longest of its batch,
 * so texts of similar length run together and each group pads only to its own longest. */
#ifndef BMC_LIB_LENGTH_GROUPS_H
#define BMC_LIB_LENGTH_GROUPS_H

#include <stddef.h>

#include "biomedclip.h"

/* A plan for one batch and its work space, sized once for the largest batch. */
typedef struct bmci_length_groups {
    size_t *order;        /* the batch's indices, shortest text first, ties in batch order */
    size_t *ends;         /* group g is order[ends[g - 1] .. ends[g]) (ends[-1] taken as 0) */
    size_t count;         /* groups in the plan */
    size_t max_length;    /* longest text, in tokens */
    size_t *slot;         /* max_length + 1: the counting sort's next place for each length */
    size_t *lengths;      /* the distinct lengths of the batch, ascending (max_length + 1) */
    size_t *up_to;        /* up_to[k]: how many texts are no longer than lengths[k] */
    size_t *cost;         /* cost[k]: cheapest plan for the texts no longer than lengths[k - 1] */
    size_t *cut;          /* where that plan's last group starts, as an index into lengths */
} bmci_length_groups;

/* Allocates the work space for batches of up to `capacity` texts of up to `max_length`
 * tokens. BMC_ERR_OUT_OF_MEMORY leaves nothing to free; otherwise free with
 * bmci_length_groups_free. */
bmc_status bmci_length_groups_init(bmci_length_groups *groups, size_t capacity, size_t max_length);

/* Releases the work space; a zeroed or freed struct is allowed. */
void bmci_length_groups_free(bmci_length_groups *groups);

/* Plans the batch lengths[0..n) (n <= capacity, every length in 1..max_length): orders it
 * shortest first and cuts that order where the token rows the forwards run, each group padded
 * to its longest, plus `group_cost` rows for each group (a forward's fixed cost), are fewest.
 * A group_cost of at least n * max_length always gives one group. */
void bmci_length_groups_plan(bmci_length_groups *groups, const size_t *lengths, size_t n,
                             size_t group_cost);

#endif
