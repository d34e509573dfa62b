"""Superset's settings for the observatory, the same for `make bi` (observatory_dev.bi) and docker-compose.yml.

Everything secret or local comes from the environment: SUPERSET_SECRET_KEY (signs sessions, encrypts the stored
warehouse password) and SUPERSET_METADATA_URI (Superset's own metadata: SQLite under .local/bi locally, a volume
in the compose stack). Examples are never loaded (`superset load-examples` is not run).
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]

# Served on 127.0.0.1 (or behind the compose network): no HTTPS redirect or CSP from Talisman.
TALISMAN_ENABLED = False
# Metadata cached in memory; query results are not cached (Superset's default), so a chart shows the marts as they
# are after each dbt build. One process: rate limits counted in memory.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
RATELIMIT_STORAGE_URI = "memory://"
ROW_LIMIT = 5000
