"""The instructor's verbs, one module each: release, collect, grade, feedback, export."""
