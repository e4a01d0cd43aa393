"""Development and test tooling: the local platform supervisor, a development CA, free ports."""
