"""Bayesian hyperparameter search for Keras image classifiers, with test-set reports."""

import os

# TensorFlow's C++ info logs bury the search log; keep its warnings and errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
