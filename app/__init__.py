"""Streamlit UI for cpdqa. Pages call `qa`; nothing here computes a judgement."""
