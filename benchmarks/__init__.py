"""Side-by-side speed and memory benchmarks: rnnlab's NumPy engine against PyTorch on the CPU.

Run ``python -m benchmarks.run`` (``--quick`` for a smoke run) from the repository
root; see BENCHMARKS.md. torch is imported here only, never by rnnlab itself.
"""
