"""surrogate_hpo: training-free hyperparameter optimisation of LDOS surrogates on Ray Tune."""

__version__ = "0.1.0"
