"""Torch networks, losses, training and checkpoints. Imports ``workbench`` only."""
