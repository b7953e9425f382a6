# SPDX-License-Identifier: MIT
"""Trainers of the task heads and their synthetic data."""
