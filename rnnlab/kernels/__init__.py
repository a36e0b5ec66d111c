"""Optional compiled kernels (the ``fast`` extra: numba), chosen with ``cell.kernel=numba``.

The NumPy engine (``rnnlab.nn``) is the default and the reference; a kernel here
replaces one cell's time loops and must give the same results up to float
rounding (tests compare both). Nothing outside this package imports numba.
"""
