"""The work behind the search commands, as plain functions the command line calls.

tune runs a whole search, from the data to the reports, resumable at any point; trial is
the process that runs one trial of a saved search (run-trial); report writes a finished
search's evaluation, tables, plots and page again. The after-trial hook that every way of
running trials shares lives in tune.
"""
