"""The nightly procmine run as a Prefect flow (entrypoint ``flows/nightly.py:nightly``).

The flow and its tasks live in the package (procmine.orchestration.flow) so that `procmine
run` and `procmine schedule` use the very same flow; this file is the entrypoint for Prefect's
own tooling:

    prefect deploy flows/nightly.py:nightly --name nightly --cron "0 2 * * *" --pool procmine
    python flows/nightly.py                     # one run now (against PREFECT_API_URL)
"""

from procmine.orchestration.flow import nightly
from procmine.runtime import tune_process

__all__ = ["nightly"]

if __name__ == "__main__":
    tune_process()   # this process is the run's own (procmine.runtime)
    nightly()
