"""The ``workbench dashboard`` verb: start the Streamlit dashboard."""

from __future__ import annotations

import argparse
import sys

from cli.options import integer
from workbench.errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the dashboard verb to the ``workbench`` command."""
    db = sub.add_parser("dashboard", help="the Streamlit dashboard",
                        description="Start the dashboard (streamlit run streamlit_app.py, headless) on the data, "
                                    "runs and reports folders; open the printed URL in a browser.")
    db.add_argument("--port", type=integer, default=8501, help="port to serve on (default 8501)")
    db.add_argument("--data", default="data", help="data folder (default: data)")
    db.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    db.add_argument("--reports", default="reports", help="reports folder (default: reports)")
    db.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until it stops or Ctrl-C; returns the exit status."""
    import importlib.util
    import os
    import subprocess
    from pathlib import Path

    spec = importlib.util.find_spec("dashboard.app")  # installed with the package, or this checkout's
    if spec is None or spec.origin is None:
        raise ParameterError("the dashboard package is missing; expected the workbench installed with its "
                             "dashboard (pip install timbre-workbench)")
    app = Path(spec.origin)
    if not 1 <= args.port <= 65535:
        raise ParameterError(f"--port {args.port} is not valid; expected 1-65535")
    roots = [f"--{k}={os.path.abspath(getattr(args, k))}" for k in ("data", "runs", "reports")]
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--", *roots]
    print(f"dashboard on http://localhost:{args.port} ({' '.join(roots)}); Ctrl-C stops it", flush=True)
    proc = subprocess.Popen(cmd, cwd=app.parent)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches streamlit too: let it shut down before returning
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
        return 130
