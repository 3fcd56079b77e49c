"""The websocket relay between the browser and a machine kernel (bytes, not messages)."""
