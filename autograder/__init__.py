"""Instructor-only grading tools: hidden reference rules, trusted verdicts, the course CLI."""
