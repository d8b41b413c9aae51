"""The default progress callback of long library calls (``ingest.pipeline.sync``, the eval runner).

In: whatever a caller reports (stage, document, done, total); out: nothing.  Drawing progress
bars is left to the CLIs, which pass their own callback (tqdm, click).
"""


def no_progress(*_report: object) -> None:
    """Report nothing: the callback used when no CLI shows progress."""
