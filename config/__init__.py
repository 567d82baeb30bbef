"""Settings, errors and interface-string translation shared by every package (the bottom layer)."""
