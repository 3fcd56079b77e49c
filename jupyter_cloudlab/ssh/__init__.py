"""asyncssh: host-key-pinned connections, the remote bootstrap, a supervised port forward."""
