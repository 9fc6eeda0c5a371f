"""The only package that imports airflow: the DAG factory, deferrable triggers, connections."""
