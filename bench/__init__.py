"""Benchmarks with their baselines, measured in the same run (``make bench`` → ``python -m bench``).

Each benchmark returns a :class:`bench.common.BenchResult`: measured values, baseline values, their ratios and the
targets with a pass/fail flag. ``python -m bench`` prints a table per benchmark and writes ``bench/results.json``;
``python -m bench.report`` turns that file into the README's performance section.
"""
