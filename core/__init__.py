"""Riskboard's engine: data, models, training, runs and figures, with no UI dependency.

Nothing here imports streamlit; pages and the CLI are thin layers over these modules.
"""

__version__ = "0.1.0"
