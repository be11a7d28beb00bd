"""Configuration for Tortoise's own CLI (``tortoise makemigrations``), read from the environment."""

from api.database import tortoise_config
from api.settings import Settings

TORTOISE_ORM = tortoise_config(Settings.from_env())
