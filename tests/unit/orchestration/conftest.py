"""Airflow reads AIRFLOW_HOME at import: point it at a throwaway home before any test here imports airflow."""

import os
import tempfile
from pathlib import Path

_home = Path(tempfile.mkdtemp(prefix="datadam-af-unit-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[3] / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
