"""The composition root: one immutable session per AWS account, built by one factory, swapped
whole by the backend when the account changes (Settings → CloudLab)."""
