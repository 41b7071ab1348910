"""procmine benchmarks (issue #8): `python -m bench.run` or `make bench`.

Each stage runs in a fresh child process so its wall time and peak RSS are its own;
results go to bench/results.json and BENCHMARKS.md. Samples are cached under bench/cache/.
"""
