"""Preflight: before the first run on a portal, check what the exports need against what the share and
the buckets hold, through the same Airflow connections, and suggest the configuration for this portal.

``run_preflight(config)`` → :class:`PreflightResult` (``python -m hubspot_pipeline.preflight`` and the
``hubspot_preflight`` DAG): the share's tables and properties (:mod:`.share`), the deal pipelines and
stages, the event types, an estimate of Personalize's minimums, a probe object written and deleted in
each bucket (:mod:`.buckets`); the blocking problems and warnings (:mod:`.problems`), the suggested
override (:mod:`.suggestion`) and the report (:mod:`.report`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hubspot_pipeline.config import PipelineConfig
from hubspot_pipeline.preflight.buckets import probe_buckets
from hubspot_pipeline.preflight.problems import blocking_problems, warnings
from hubspot_pipeline.preflight.report import report_text
from hubspot_pipeline.preflight.share import inspect_share
from hubspot_pipeline.preflight.suggestion import override_yaml, suggested_override


@dataclass(frozen=True)
class PreflightResult:
    """What preflight found: ``share`` and ``buckets`` (plain JSON), the problems that would fail a run
    (``blocking``, one sentence each naming the key or bucket), ``warnings``, the ``suggested_override``
    (a mapping ``load_config(override=...)`` accepts) and the ``report_text``."""

    share: dict
    buckets: list[dict]
    blocking: list[str]
    warnings: list[str]
    suggested_override: dict
    report_text: str

    @property
    def yaml(self) -> str:
        """The suggested override as YAML (a deploy-time file)."""
        return override_yaml(self.suggested_override)

    def to_dict(self) -> dict:
        return asdict(self)


def assess(config: PipelineConfig, share: dict, buckets: list[dict]) -> PreflightResult:
    """The result of findings already read (:func:`inspect_share`, :func:`probe_buckets`)."""
    blocking = blocking_problems(config, share, buckets)
    found_warnings = warnings(config, share, buckets)
    suggestion = suggested_override(config, share)
    text = report_text(config, share, buckets, blocking, found_warnings, override_yaml(suggestion))
    return PreflightResult(share, buckets, blocking, found_warnings, suggestion, text)


def read_share(config: PipelineConfig) -> dict:
    """:func:`inspect_share`, or ``{"error": ...}`` when the share cannot be read at all (the connection,
    the database or schema), which is itself the finding."""
    try:
        return inspect_share(config)
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


def run_preflight(config: PipelineConfig) -> PreflightResult:
    """Every check, through the configuration's connections."""
    return assess(config, read_share(config), probe_buckets(config))


__all__ = ["PreflightResult", "assess", "inspect_share", "probe_buckets", "read_share", "run_preflight"]
