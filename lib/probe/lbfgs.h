/* SPDX-License-Identifier: MIT */
/* Unconstrained minimisation of a smooth function by L-BFGS (Nocedal and Wright, Numerical
 * Optimization, 2nd ed., algorithm 7.4 and 7.5), in double precision. It serves the linear
 * probe's logistic regression, but knows nothing of it. */
#ifndef BMC_LIB_LBFGS_H
#define BMC_LIB_LBFGS_H

#include <stddef.h>
#include <stdint.h>

#include "biomedclip.h"

/* Computes f(x) and its gradient at x[0..n) into *f and gradient[0..n). */
typedef void (*bmci_lbfgs_fn)(void *user_data, const double *x, size_t n, double *f,
                              double *gradient);

typedef struct bmci_lbfgs_result {
    int32_t iterations;  /* accepted steps */
    int32_t converged;   /* 1: the gradient tolerance was met */
    double f;            /* the objective at the returned point */
    double gradient_max; /* its largest absolute gradient component */
} bmci_lbfgs_result;

/* Minimises from x (n values, overwritten with the minimiser). Stops when the largest absolute
 * gradient component is at most tolerance x max(1, its value at the start), after
 * max_iterations steps, or when no step along the search direction lowers f any further
 * (f's rounding level reached; converged is then set only if the gradient tolerance holds).
 * Errors: BMC_ERR_OUT_OF_MEMORY (the message names `who`). */
bmc_status bmci_lbfgs_minimize(const char *who, bmci_lbfgs_fn fn, void *user_data, double *x,
                               size_t n, int32_t max_iterations, double tolerance,
                               bmci_lbfgs_result *result);

#endif
