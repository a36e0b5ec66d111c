"""The BLAS the kernels call: scipy's, through numba's ``np.dot``, kept on one thread."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController


def single_threaded_kernel_blas() -> None:
    """Load the BLAS numba's ``np.dot`` calls (scipy's) and put it on one thread for good.

    The kernels run one call per block of batch rows on each of the engine's
    threads; a multi-threaded BLAS inside them would put more threads than cores
    to work (and OpenBLAS's idle workers spin). Only a library that scipy brings
    is limited: where scipy shares numpy's BLAS, the runner's thread setting rules it.
    """
    before = {lib.filepath for lib in ThreadpoolController().lib_controllers}
    import scipy.linalg.cython_blas  # noqa: F401

    for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
        if lib.filepath not in before:
            lib.set_num_threads(1)
