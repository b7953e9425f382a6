# SPDX-License-Identifier: MIT
"""Checks that make check runs on the tools, the CLI and the bindings."""
