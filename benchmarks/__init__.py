"""Benchmarks of the tool: scripts run from the repository root, never installed.

`python benchmarks/course_notebook.py ...` runs as a script; `python -m benchmarks.peers ...`
as a package, which needs the repository root on the path (`-m` puts the current folder there).
"""
