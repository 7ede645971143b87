"""The ``workbench devices`` verb: PortAudio's audio devices."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the devices verb to the ``workbench`` command."""
    dv = sub.add_parser("devices", help="list audio input and output devices",
                        description="List PortAudio's devices: index, host API, input and output channels, "
                                    "default rate and low latency (> default input, < default output). Under JACK "
                                    "each client is a device; `system` is the sound card.")
    dv.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dv.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the audio devices (table or JSON); returns the exit status."""
    from workbench.devices import format_devices, list_devices

    devices = list_devices()
    print(json.dumps(devices, indent=1) if args.json else format_devices(devices))
    return 0
