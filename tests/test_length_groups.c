/* SPDX-License-Identifier: MIT */
/* Grouping a batch of texts by length (lib/model/length_groups.c) against an exhaustive search
 * over every way of cutting the length-sorted batch. */
#include <stdlib.h>

#include "biomedclip.h"
#include "harness.h"
#include "model/length_groups.h"

static uint32_t random_state = 20261206u;

static size_t random_below(size_t bound)
{
    random_state = random_state * 1103515245u + 12345u;
    return (size_t)(random_state >> 8) % bound;
}

/* The rows a plan runs: each group padded to its longest, plus group_cost per group. */
static size_t plan_cost(const bmci_length_groups *groups, const size_t *lengths, size_t group_cost)
{
    size_t cost = 0;
    for (size_t g = 0, first = 0; g < groups->count; first = groups->ends[g++])
        cost += (groups->ends[g] - first) * lengths[groups->order[groups->ends[g] - 1]] + group_cost;
    return cost;
}

/* The cheapest cut of the sorted lengths, trying all 2^(n-1) of them. */
static size_t exhaustive_cost(const size_t *sorted, size_t n, size_t group_cost)
{
    size_t best = (size_t)-1;
    for (unsigned long cuts = 0; cuts < 1ul << (n - 1); cuts++) {
        size_t cost = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (i == n - 1 || cuts >> i & 1) {
                cost += (i + 1 - first) * sorted[i] + group_cost;
                first = i + 1;
            }
        if (cost < best)
            best = cost;
    }
    return best;
}

/* The order is a permutation, shortest first and stable; the groups tile it. */
static int plan_is_well_formed(const bmci_length_groups *groups, const size_t *lengths, size_t n)
{
    int seen[64] = {0};
    for (size_t k = 0; k < n; k++) {
        size_t i = groups->order[k];
        if (i >= n || seen[i]++)
            return 0;
        if (k && (lengths[groups->order[k - 1]] > lengths[i] ||
                  (lengths[groups->order[k - 1]] == lengths[i] && groups->order[k - 1] > i)))
            return 0;
    }
    if (groups->count < 1 || groups->ends[groups->count - 1] != n)
        return 0;
    for (size_t g = 1; g < groups->count; g++)
        if (groups->ends[g] <= groups->ends[g - 1])
            return 0;
    return groups->ends[0] > 0;
}

static void test_plans_are_cheapest(void)
{
    enum { MAX_N = 12, MAX_LENGTH = 20 };
    static const size_t costs[] = {0, 1, 4, 16, 64};
    bmci_length_groups groups;
    CHECK_STATUS(bmci_length_groups_init(&groups, MAX_N, MAX_LENGTH), BMC_OK);
    int malformed = 0, dearer = 0;
    size_t lengths[MAX_N], sorted[MAX_N];
    for (int trial = 0; trial < 600; trial++) {
        size_t n = 1 + random_below(MAX_N), spread = 1 + random_below(MAX_LENGTH);
        for (size_t i = 0; i < n; i++)
            lengths[i] = 1 + random_below(spread);
        size_t group_cost = costs[trial % 5];
        bmci_length_groups_plan(&groups, lengths, n, group_cost);
        malformed += !plan_is_well_formed(&groups, lengths, n);
        for (size_t k = 0; k < n; k++)
            sorted[k] = lengths[groups.order[k]];
        dearer += plan_cost(&groups, lengths, group_cost) != exhaustive_cost(sorted, n, group_cost);
    }
    CHECK(malformed == 0, "%d of 600 plans do not order and tile their batch", malformed);
    CHECK(dearer == 0, "%d of 600 plans cost more than the cheapest cut", dearer);
    bmci_length_groups_free(&groups);
}

static void test_edges(void)
{
    bmci_length_groups groups;
    CHECK_STATUS(bmci_length_groups_init(&groups, 8, 256), BMC_OK);
    const size_t one[] = {7};
    bmci_length_groups_plan(&groups, one, 1, 16);
    CHECK(groups.count == 1 && groups.ends[0] == 1 && groups.order[0] == 0, "a batch of one");
    /* A group cost of n x max_length is one group whatever the lengths (the GPU's plan). */
    const size_t mixed[] = {256, 2, 2, 2, 2, 2, 2, 2};
    bmci_length_groups_plan(&groups, mixed, 8, 8 * 256);
    CHECK(groups.count == 1 && groups.order[7] == 0, "group cost n x max_length: %zu groups",
          groups.count);
    bmci_length_groups_plan(&groups, mixed, 8, 16);
    CHECK(groups.count == 2 && groups.ends[0] == 7, "one long text beside short ones: %zu groups",
          groups.count);
    const size_t equal[] = {9, 9, 9, 9};
    bmci_length_groups_plan(&groups, equal, 4, 0);
    CHECK(groups.count == 1, "texts of one length stay in one group even at no cost: %zu",
          groups.count);
    bmci_length_groups_free(&groups);
    bmci_length_groups_free(&groups); /* freeing twice is allowed */
}

/* The largest batch the encoder accepts, every length from 2 to 256: a well-formed plan. */
static void test_largest_batch(void)
{
    enum { N = 65536 };
    bmci_length_groups groups;
    size_t *lengths = malloc(N * sizeof *lengths);
    CHECK_STATUS(bmci_length_groups_init(&groups, N, 256), BMC_OK);
    if (!lengths)
        return;
    for (size_t i = 0; i < N; i++)
        lengths[i] = 2 + random_below(255);
    bmci_length_groups_plan(&groups, lengths, N, 16);
    int ordered = groups.ends[groups.count - 1] == N;
    for (size_t k = 1; k < N; k++)
        ordered &= lengths[groups.order[k - 1]] <= lengths[groups.order[k]];
    CHECK(ordered, "65,536 texts are ordered by length and tiled by %zu groups", groups.count);
    CHECK(groups.count > 1 && groups.count <= 255, "%zu groups for 255 distinct lengths",
          groups.count);
    bmci_length_groups_free(&groups);
    free(lengths);
}

int main(void)
{
    RUN(test_plans_are_cheapest);
    RUN(test_edges);
    RUN(test_largest_batch);
    return harness_summary("test_length_groups");
}
