FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes reuse this layer.
COPY pyproject.toml README.md ./
RUN mkdir bot && touch bot/__init__.py && pip install . && rm -rf bot

COPY alembic.ini babel.cfg ./
COPY migrations ./migrations
COPY locales ./locales
COPY bot ./bot
RUN pip install --no-deps . \
    && pybabel compile -d locales -D messages \
    && useradd --system --uid 10001 bot
USER bot

# The compose file runs `python -m bot migrate` first; `run` applies migrations as well.
CMD ["python", "-m", "bot", "run"]
