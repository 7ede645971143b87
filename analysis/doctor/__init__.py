"""The material doctor: what a careful engineer checks in training material before training.

One streamed pass over each file (soundfile blocks, bounded memory; long material read as evenly
spaced excerpts) gives durations, formats, clipping, DC offset, silence, the noise floor, the
loudness distribution, a content digest for duplicates and the 10 ms level track that the
reverberation estimate reads (:mod:`analysis.doctor.decay`). pYIN (through
:mod:`workbench.pitch`) on a bounded sample gives the pitched share and the pitch histogram
against voice and instrument ranges (:mod:`analysis.doctor.coverage`). Each finding comes with
what to do (:mod:`analysis.doctor.advice`), then a verdict and the training time of both methods
(:mod:`analysis.doctor.training`). :func:`write_report` / :func:`load_report` keep the report
folder's format in one place.

Examples
--------
>>> from analysis.doctor import examine, write_report
>>> r = examine("recordings/cello")  # doctest: +SKIP
>>> r["verdict"]["verdict"]  # doctest: +SKIP
'usable with caveats'
>>> write_report(r, "reports/doctor/cello")  # doctest: +SKIP
"""

from analysis.doctor.advice import NOT_ENOUGH_SECONDS, READY_SECONDS
from analysis.doctor.examine import examine
from analysis.doctor.report import format_markdown, load_report, write_report
from analysis.doctor.training import THROUGHPUT, measure_throughput, training_estimate

__all__ = ["examine", "write_report", "load_report", "format_markdown", "measure_throughput", "training_estimate",
           "THROUGHPUT", "NOT_ENOUGH_SECONDS", "READY_SECONDS"]
