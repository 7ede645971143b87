"""Audio-to-audio methods behind the Effect contract. Imports ``workbench`` and ``models``."""
