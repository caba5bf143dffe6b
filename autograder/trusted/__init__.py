"""The trusted verdict: student code run in an isolated worker, judged in the grader's process.

Pipeline: extract -> tamper scan -> run (runner + worker, over protocol) -> compare ->
diagnose (misconceptions) -> score. ``pipeline.grade_submission`` runs it for one submission.
"""
