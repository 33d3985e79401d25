"""The registered scores, one module each (the classes :mod:`..registry` lists)."""
