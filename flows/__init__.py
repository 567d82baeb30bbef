"""The conversation engine, channel-agnostic: flow schema, loader + validator, machines, steps, events."""
