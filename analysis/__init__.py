"""Feature probes, embeddings, pitch-tracking protocol and scoreboard."""
