"""Data the sandbox serves (package data)."""
