"""Pure plotly figure builders: data in, ``go.Figure`` out. Pages and the report share them; tests read their data."""
