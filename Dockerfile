# aggregator daemon in a container:
#   docker build -t aggregator .
#   docker run -d --name aggregator -v "$PWD/data:/data" -v "$PWD/config.toml:/config/config.toml:ro" aggregator
# Relative paths in config.toml resolve against /config; point storage and output at /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AGGREGATOR_CONFIG=/config/config.toml
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aggregator ./aggregator
RUN pip install --no-cache-dir -U pip && pip install --no-cache-dir . && useradd --system --home /data aggregator \
    && mkdir -p /data /config && chown aggregator /data
USER aggregator
VOLUME ["/data"]
# SIGTERM lets in-flight feeds finish within [daemon] grace (default 20 s): give Docker longer.
STOPSIGNAL SIGTERM
CMD ["aggregator", "run"]
