"""Orchestration: the nightly Prefect flow, `procmine run`, scheduling and run summaries.

Importing this package sets procmine's Prefect defaults (analytics off, procmine's loggers
attached to run logs) before any module of it imports prefect.
"""

from procmine.orchestration.prefect_env import prepare_environment

prepare_environment()
