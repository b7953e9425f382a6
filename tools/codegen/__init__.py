# SPDX-License-Identifier: MIT
"""Generators of the C tables committed under lib/text/generated."""
