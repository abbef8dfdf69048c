"""The notebook's face of the pipeline: `tuning.tune(...)`, beside the command line.

It takes the `tune` command's options as keyword arguments, and what only Python can hand
over: data as arrays, and a model or HyperModel as an object. It runs the same commands as
the command line and returns the search's tables and its best model.
"""
