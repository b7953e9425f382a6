/* SPDX-License-Identifier: MIT */
/* L-BFGS with a backtracking line search: the two-loop recursion over the last LBFGS_MEMORY
 * updates, scaled by s'y / y'y (Nocedal and Wright, algorithm 7.4, eq. 7.20), steps accepted on
 * the Armijo condition, or near the minimum on Hager and Zhang's approximate Wolfe condition,
 * since there f's differences drown in its rounding while the gradient still has digits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "probe/lbfgs.h"

/* scipy's L-BFGS-B, which scikit-learn's lbfgs solver runs, also keeps 10 updates. */
#define LBFGS_MEMORY 10
#define ARMIJO 1e-4         /* sufficient decrease */
#define APPROX_WOLFE 0.9    /* curvature bound of the approximate Wolfe condition */
#define MAX_BACKTRACKS 60

static double dot(const double *a, const double *b, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static double max_abs(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* d = -H g by the two-loop recursion over the `stored` pairs, the latest at `newest`. */
static void direction(const double *g, size_t n, double *const *s, double *const *y,
                      const double *rho, int stored, int newest, double *alpha, double *d)
{
    for (size_t i = 0; i < n; i++)
        d[i] = -g[i];
    for (int k = 0; k < stored; k++) {
        int j = (newest - k + LBFGS_MEMORY) % LBFGS_MEMORY;
        alpha[j] = rho[j] * dot(s[j], d, n);
        for (size_t i = 0; i < n; i++)
            d[i] -= alpha[j] * y[j][i];
    }
    if (stored > 0) {
        double gamma = dot(s[newest], y[newest], n) / dot(y[newest], y[newest], n);
        for (size_t i = 0; i < n; i++)
            d[i] *= gamma;
    }
    for (int k = stored - 1; k >= 0; k--) {
        int j = (newest - k + LBFGS_MEMORY) % LBFGS_MEMORY;
        double beta = rho[j] * dot(y[j], d, n);
        for (size_t i = 0; i < n; i++)
            d[i] += (alpha[j] - beta) * s[j][i];
    }
}

bmc_status bmci_lbfgs_minimize(const char *who, bmci_lbfgs_fn fn, void *user_data, double *x,
                               size_t n, int32_t max_iterations, double tolerance,
                               bmci_lbfgs_result *result)
{
    double *block = malloc((2 * LBFGS_MEMORY + 4) * n * sizeof *block);
    if (!block)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory for the solver", who);
    double *s[LBFGS_MEMORY], *y[LBFGS_MEMORY], rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
    for (int k = 0; k < LBFGS_MEMORY; k++) {
        s[k] = block + (size_t)(2 * k) * n;
        y[k] = block + (size_t)(2 * k + 1) * n;
    }
    double *g = block + 2 * LBFGS_MEMORY * n, *d = g + n, *x_new = d + n, *g_new = x_new + n;

    double f;
    fn(user_data, x, n, &f, g);
    const double stop = tolerance * fmax(1.0, max_abs(g, n));
    int stored = 0, newest = LBFGS_MEMORY - 1;
    int32_t iteration = 0;
    int converged = max_abs(g, n) <= stop;
    while (!converged && iteration < max_iterations) {
        direction(g, n, s, y, rho, stored, newest, alpha, d);
        double slope = dot(g, d, n);
        if (!(slope < 0.0)) { /* rounding spoilt the direction: restart from steepest descent */
            stored = 0;
            for (size_t i = 0; i < n; i++)
                d[i] = -g[i];
            slope = dot(g, d, n);
        }
        /* The first step has no curvature to scale it: one of unit length. */
        double step = stored == 0 && iteration == 0 ? 1.0 / sqrt(-slope) : 1.0;
        double f_new = f;
        int accepted = 0;
        for (int b = 0; b < MAX_BACKTRACKS && !accepted; b++, step *= 0.5) {
            for (size_t i = 0; i < n; i++)
                x_new[i] = x[i] + step * d[i];
            fn(user_data, x_new, n, &f_new, g_new);
            if (!isfinite(f_new))
                continue;
            double slope_new = dot(g_new, d, n);
            accepted = f_new <= f + ARMIJO * step * slope ||
                       (f_new <= f + 1e-12 * fabs(f) && slope_new >= APPROX_WOLFE * slope &&
                        slope_new <= (2.0 * ARMIJO - 1.0) * slope);
        }
        if (!accepted)
            break; /* nothing lowers f along d: f's rounding level */
        int next = (newest + 1) % LBFGS_MEMORY;
        for (size_t i = 0; i < n; i++) {
            s[next][i] = x_new[i] - x[i];
            y[next][i] = g_new[i] - g[i];
        }
        double sy = dot(s[next], y[next], n);
        /* Keep the pair only with positive curvature, or H would stop being positive definite. */
        if (sy > 1e-300 * dot(y[next], y[next], n) && sy > 0.0) {
            rho[next] = 1.0 / sy;
            newest = next;
            if (stored < LBFGS_MEMORY)
                stored++;
        }
        memcpy(x, x_new, n * sizeof *x);
        memcpy(g, g_new, n * sizeof *g);
        f = f_new;
        iteration++;
        converged = max_abs(g, n) <= stop;
    }
    result->iterations = iteration;
    result->converged = converged;
    result->f = f;
    result->gradient_max = max_abs(g, n);
    free(block);
    return BMC_OK;
}
