"""The Streamlit front end: wiring only. Everything it shows is computed by the library modules."""
