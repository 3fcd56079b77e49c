"""asyncssh: host-key-pinned connections, the machine's bootstrap, a supervised port forward."""
