"""What a user reads: the CSV tables, the plots, the diagnosis, the console lines and the page.

Built from the tuner state and the files of a results dir, after each trial and at the end:
trials.csv, history.csv and test_results.csv (tables), the three PNG figures (plots and
hpfigure, with plotstyle), the range-edge and failure warnings (diagnosis), the start block
and the line per trial (progress), and report.html (page), which shows all of them in one
file.
"""
