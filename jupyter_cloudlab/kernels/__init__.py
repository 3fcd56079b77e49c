"""Local and remote kernels mixed in one jupyter server."""
