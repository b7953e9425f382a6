# SPDX-License-Identifier: MIT
"""Converters from checkpoints to the library's files, and the test models made through them."""
