"""Code that runs ON the machine, uploaded over SSH by the bootstrap."""
