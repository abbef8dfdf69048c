"""The results store: what a search keeps in its results dir, and how it is kept safe.

Atomic file writes (a kill never leaves a half-written file), run.json (the resolved
configuration, data source, machine and timings of each run), the per-folder lock (one
search per results dir, a dead holder's lock taken over) and resume (whether a command may
go on with the search saved there, with the same settings).
"""
