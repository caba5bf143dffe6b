"""Isolation of student code: resource limits, the bubblewrap sandbox, the sandboxed Jupyter kernel."""
