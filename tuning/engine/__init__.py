"""The search engine: KerasTuner's oracle and tuner, and how each trial is run.

The oracle (Bayesian, warm-started, never repeating a trial) decides the values; the tuner
builds, fits and records each trial with the course's callbacks, the stopping rules (median,
ASHA) and the time budget. Trials run in a process each (isolation, spawn), or in this
process; evaluation scores the best on the test set. KerasTuner's private members are
reached only through kt_internals. The engine writes no report: callers pass an after-trial
hook.
"""
