"""Ingestion: load source files, recognise their structure, clean text, cut chunks."""
