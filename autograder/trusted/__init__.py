"""The trusted verdict: student code run in a sandboxed executor, judged in the grader's process.

Pipeline: extract -> tamper scan + library policy -> driver (talks to executor.py over protocol)
-> compare -> diagnose (misconceptions) -> score. ``pipeline.grade_submission`` runs it for one
submission.
"""
