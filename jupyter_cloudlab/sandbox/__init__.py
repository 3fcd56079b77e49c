"""The embedded stand-in for AWS: a moto EC2 endpoint on loopback and local SSH "machines"."""
