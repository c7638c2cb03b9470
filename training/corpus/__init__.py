"""Permissively licensed code corpus: fetch, licence-check, filter, select, write."""
