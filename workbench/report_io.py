"""Reading the files reports and runs are written as (JSON and CSV), tolerant of missing files.

Each report module owns its writer and its reader; this is what the readers share.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["read_json", "read_csv_rows"]


def read_json(path: Path) -> dict:
    """A JSON file's object, tolerant of a report half-written or foreign.

    Parameters
    ----------
    path : Path
        The JSON file; a missing one is no error.

    Returns
    -------
    dict
        Its parsed content, or ``{}`` when the file is missing or not JSON.
    """
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}



def _typed(v: str):
    if v in ("True", "False"):
        return v == "True"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v



def read_csv_rows(path: Path) -> list[dict]:
    """A CSV file's rows, with their values typed.

    Parameters
    ----------
    path : Path
        The file, with a header row.

    Returns
    -------
    list of dict
        One dict per row, header -> value, each value read as bool (``True``/``False``), int or
        float where it parses as one, else str; ``[]`` when the file is missing.
    """
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [{k: _typed(v) for k, v in row.items()} for row in csv.DictReader(fh)]
