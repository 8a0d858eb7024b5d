"""The one configuration of both exports: ``include/config/pipeline.yaml``, overridden by a file named in
``HUBSPOT_PIPELINE_CONFIG`` and by the Airflow Variable ``hubspot_pipeline_config``.

- :mod:`.loading`: reading, merging and validating it into :class:`PipelineConfig`;
- :mod:`.settings`: the validated sections (share, storage, Personalize, Hook, identity);
- :mod:`.checks`: the patterns every name passes before it reaches SQL, a key or a header;
- :mod:`.hook_metrics`: the Hook metric definitions (``include/config/hook_metrics.yaml``).

The names below are the configuration's public interface.
"""

from hubspot_pipeline.config.checks import ConfigError, sql_identifier
from hubspot_pipeline.config.loading import PROJECT_ROOT, deep_merge, load_config, parse_config, raw_config
from hubspot_pipeline.config.settings import (
    IdentityConfig,
    PipelineConfig,
    ShareConfig,
    StorageConfig,
    cron_interval,
)
from hubspot_pipeline.hook.settings import HookConfig
from hubspot_pipeline.personalize.settings import PersonalizeConfig, UnloadConfig

__all__ = [
    "PROJECT_ROOT",
    "ConfigError",
    "HookConfig",
    "IdentityConfig",
    "PersonalizeConfig",
    "PipelineConfig",
    "ShareConfig",
    "StorageConfig",
    "UnloadConfig",
    "cron_interval",
    "deep_merge",
    "load_config",
    "parse_config",
    "raw_config",
    "sql_identifier",
]
