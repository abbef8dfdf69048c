"""The bench command: the training path's speed, measured one configuration per process.

configs names what is compared (the plain and fast paths, each precision); suite runs each
in a fresh process, alternately over several rounds, and writes bench.csv with medians and
ratios; single is the process that trains one configuration and prints its figures.
"""
