"""Deliberately wrong exercise answers, one module per notebook (see tools/classroom.py)."""
