"""rnnlab's MLflow support, a plugin like any other (entry point ``mlflow``, module
``rnnlab.mlflow_plugin.plugin``): the core never imports this package."""
