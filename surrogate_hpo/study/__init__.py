"""Pieces of a study: config checks, Ray resources, prepared data, results, progress."""
