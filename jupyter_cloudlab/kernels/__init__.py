"""Local and machine kernels mixed in one jupyter server."""
