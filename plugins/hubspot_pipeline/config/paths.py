"""Where the DAGs find their files, however the project is deployed: the one place that decides it.

The *include folder* holds the SQL (``sql/``) and the configuration (``config/pipeline.yaml``,
``config/hook_metrics.yaml``). :func:`include_dir` takes the first of, in this order:

1. ``$HUBSPOT_PIPELINE_INCLUDE``, if set (it must then hold ``sql/`` and ``config/pipeline.yaml``);
2. ``hubspot_pipeline/include/``, the copy inside the package that ``scripts/package.py`` lays out for
   MWAA (``plugins.zip``) and Cloud Composer (``plugins/``), which sync no ``include/`` beside ``plugins/``;
3. ``include/`` beside ``plugins/``: the repository, docker compose (``/opt/airflow/include``) and an Astro
   project image (``/usr/local/airflow/include``).

None of them: :class:`~hubspot_pipeline.config.checks.ConfigError` naming what was tried and what to set.

The deploy-time configuration file is ``$HUBSPOT_PIPELINE_CONFIG`` (:func:`deploy_config_file`): an
absolute path, or one relative to the include folder (``config/production.yaml`` then names the same file
in every layout the packaging command makes).

Files of the package itself (``identity/data/``) are found beside their module and travel with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from hubspot_pipeline.config.checks import ConfigError

INCLUDE_ENV = "HUBSPOT_PIPELINE_INCLUDE"
CONFIG_FILE_ENV = "HUBSPOT_PIPELINE_CONFIG"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # hubspot_pipeline/
# the folder holding plugins/: the repository's root, /opt/airflow in compose, /usr/local/airflow on Astro
PROJECT_ROOT = PACKAGE_DIR.parents[1]
PACKAGED_INCLUDE = PACKAGE_DIR / "include"
PROJECT_INCLUDE = PROJECT_ROOT / "include"


def _is_include_dir(folder: Path) -> bool:
    return (folder / "sql").is_dir() and (folder / "config" / "pipeline.yaml").is_file()


def include_dir() -> Path:
    """The include folder (``sql/``, ``config/``): ``$HUBSPOT_PIPELINE_INCLUDE``, else the copy inside the
    package, else ``include/`` beside ``plugins/``."""
    if configured := os.environ.get(INCLUDE_ENV):
        folder = Path(configured).expanduser()
        if not _is_include_dir(folder):
            raise ConfigError(
                f"{INCLUDE_ENV}={configured} does not hold sql/ and config/pipeline.yaml: point it at the "
                "project's include/ folder, or unset it to use the package's own copy"
            )
        return folder.resolve()
    for folder in (PACKAGED_INCLUDE, PROJECT_INCLUDE):
        if _is_include_dir(folder):
            return folder
    raise ConfigError(
        f"the pipeline's include folder (sql/, config/pipeline.yaml) is neither in the package "
        f"({PACKAGED_INCLUDE}) nor beside plugins/ ({PROJECT_INCLUDE}): deploy the layout "
        f"`scripts/package.py --target astro|mwaa|composer` makes, or set {INCLUDE_ENV} to the folder"
    )


def sql_dir() -> Path:
    """``<include>/sql``: one query per file."""
    return include_dir() / "sql"


def default_config_file() -> Path:
    """``<include>/config/pipeline.yaml``: the configuration with its documented defaults."""
    return include_dir() / "config" / "pipeline.yaml"


def include_path(value: str | os.PathLike) -> Path:
    """``value`` if absolute, else relative to the include folder (``hook.metrics_file``,
    ``$HUBSPOT_PIPELINE_CONFIG``)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else include_dir() / path


def deploy_config_file() -> Path | None:
    """The deploy-time file named by ``$HUBSPOT_PIPELINE_CONFIG`` (absolute, or relative to the include
    folder), or None when it is unset. Read at parse time and at run time alike."""
    configured = os.environ.get(CONFIG_FILE_ENV)
    if not configured:
        return None
    path = include_path(configured)
    if not path.is_file():
        where = "" if Path(configured).is_absolute() else f" (relative paths are read from {include_dir()})"
        raise ConfigError(f"{CONFIG_FILE_ENV}={configured}: no such file {path}{where}")
    return path
