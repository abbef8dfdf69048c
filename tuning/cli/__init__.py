"""The command line: one parser for every command, the --config file, and main.

options declares every command's options; configfile reads a TOML file of the same
options; main parses, dispatches to the commands, and maps known errors to one line and
an exit status (2 for bad input). `python -m tuning` and the `tuning` script reach main.
"""
