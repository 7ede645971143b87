"""The live wing: effects and synths played on an audio stream, and the controls that drive them.

- ``engine.py``: :class:`LiveEngine`, any :class:`~effects.base.Effect` on a duplex PortAudio
  stream (rtmixer's C callback, worker and guard threads); ``report.py``: what it reports
  (:class:`EngineReport`: counts, timings, the block log, the status line; :class:`Latency`);
  ``realtime.py``: the interpreter's settings while it streams (gc, GIL switch interval, torch threads).
- ``recorder.py``: the engine's recorder (input and output to one float WAV, off the callback).
- ``control_input.py``: MIDI and OSC in (receivers, and the controller that turns messages into
  targets and notes); ``mapping.py``: which control drives which parameter;
  ``controlled_effect.py``: the effect wrapper that applies targets between blocks, smoothed.
- ``latent_synth.py`` (an autoencoder's latent space played as an instrument) and
  ``ddsp_synth.py`` (a DDSP-style run played from notes): sources the engine runs as effects.
- ``midi_out.py``: the pitch an effect detects, sent out as MIDI notes.

Imports ``workbench``, ``models`` and ``effects``; ``analysis`` and the faces import it.
"""
