# SPDX-License-Identifier: MIT
"""The project's Python tools, run as modules from the repository root:
``/usr/bin/python3 -m tools.KIND.NAME`` (CONTRIBUTING.md lists the kinds)."""
import os

# The repository root, for tools that read tests/data or write lib/ and build/.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
