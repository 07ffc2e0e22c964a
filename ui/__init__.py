"""Streamlit-only helpers shared by the pages: session-state keys, cached loaders, safe text rendering."""
