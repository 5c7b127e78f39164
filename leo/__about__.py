"""LEO's version, kept apart so that ``leo --version`` imports nothing else."""

__version__ = "0.1.0"
