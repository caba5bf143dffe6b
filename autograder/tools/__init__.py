"""Instructor tools beside the verbs: the demo, the benchmarks, the synthetic-submission generator."""
