# SPDX-License-Identifier: MIT
"""Reference implementations in plain PyTorch/Python that the library is tested against."""
