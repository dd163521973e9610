"""lanser-fast tests, one package per package of lanser_fast."""
