"""Settings of the installation, loaded once by `cli.py`, and its secret."""
