"""Test harness shared by every package and service: real MariaDB, RabbitMQ and Redis per run."""

pytest_plugins = ["integration_sdk.testing"]
