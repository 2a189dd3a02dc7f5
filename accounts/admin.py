# Filled in by the foundation work (in progress).
