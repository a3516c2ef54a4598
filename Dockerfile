# Image of the monitor (`dmvwatch run`) and the simulator (`dmvwatch simulate`) for docker-compose.yml.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The package with its runtime dependencies (no dev extras); runs as an unprivileged user.
COPY pyproject.toml README.md ./
COPY stream ./stream
RUN pip install . && useradd --system --uid 10001 --no-create-home dmvwatch

USER dmvwatch
ENTRYPOINT ["dmvwatch"]
CMD ["run"]
