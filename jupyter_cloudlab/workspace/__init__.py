"""The machine as a workspace: a notebook's folder mirrored to the machine over SFTP."""
