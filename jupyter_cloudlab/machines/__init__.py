"""The orchestrator: one state machine per machine, persisted, reconciled with the cloud."""
