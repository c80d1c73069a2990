"""The study: its config, search space, launching on Ray and the command line."""
