"""The one configuration of both exports: ``include/config/pipeline.yaml``, overridden by the deploy-time
file named in ``HUBSPOT_PIPELINE_CONFIG`` and (tasks only, never :data:`PARSE_TIME_KEYS`) by the Airflow
Variable ``hubspot_pipeline_config``.

- :mod:`.paths`: where the include folder (SQL, configuration) and the deploy-time file are, in every layout;
- :mod:`.loading`: reading, merging and validating it into :class:`PipelineConfig`;
- :mod:`.settings`: the validated sections (share, storage, Personalize, Hook, identity);
- :mod:`.checks`: the patterns every name passes before it reaches SQL, a key or a header;
- :mod:`.hook_metrics`: the Hook metric definitions (``include/config/hook_metrics.yaml``).

The names below are the configuration's public interface.
"""

from hubspot_pipeline.config.checks import ConfigError, sql_identifier
from hubspot_pipeline.config.loading import (
    PARSE_TIME_KEYS,
    deep_merge,
    load_config,
    parse_config,
    parse_time_keys_in,
    raw_config,
)
from hubspot_pipeline.config.paths import PROJECT_ROOT, include_dir, sql_dir
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
    "PARSE_TIME_KEYS",
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
    "include_dir",
    "load_config",
    "parse_config",
    "parse_time_keys_in",
    "raw_config",
    "sql_dir",
    "sql_identifier",
]
