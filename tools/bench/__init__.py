# SPDX-License-Identifier: MIT
"""Benchmarks of the library against its peers (make bench)."""
