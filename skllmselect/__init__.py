"""skllmselect: which classifier should I use on this dataset?"""

__version__ = "0.1.0.dev0"
