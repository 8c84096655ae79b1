"""Load generators for the hub and their results (``bench/results/``).

``python -m bench.write_path`` measures the inbound write path: customer message in, committed,
shown to an operator; ``bench.baseline_relay`` is the bare relay it is compared with.
"""
