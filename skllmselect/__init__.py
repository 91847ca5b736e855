"""skllmselect: which classifier should I use on this dataset?"""

__version__ = "0.1.0.dev0"

__all__ = ["LLMAlgorithmSelector", "__version__"]


def __getattr__(name):
    # Imported on first use: `import skllmselect` (and pretrain's imports of its submodules)
    # stays cheap, without scikit-learn, pandas and torch.
    if name == "LLMAlgorithmSelector":
        from skllmselect.selector import LLMAlgorithmSelector

        return LLMAlgorithmSelector
    raise AttributeError(f"module 'skllmselect' has no attribute {name!r}")
