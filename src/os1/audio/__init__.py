"""Audio in: formats, level control, voice activity and turn detection."""
