"""`make bench` (python -m tools.bench): the function's performance figures, measured against AWS and
the Tencent API running in processes of their own, written to BENCHMARKS.md.

services.py starts those processes; cold.py times fresh interpreters; workload.py is the function
process of a warm workload, driven by throughput.py; report.py writes the figures and their reasoning.
"""
